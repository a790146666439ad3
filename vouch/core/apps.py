from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vouch.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vouch.core import checks  # noqa: F401  (registers the system checks)
