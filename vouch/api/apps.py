from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vouch.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from vouch.api import schema  # noqa: F401  (registers OpenAPI extensions)
