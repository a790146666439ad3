from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "vouch.web"
    label = "web"
    verbose_name = "Web pages"
