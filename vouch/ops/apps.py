from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "vouch.ops"
    label = "ops"
    verbose_name = "Operations"
