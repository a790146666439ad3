from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "vouch.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from vouch.delivery import checks  # noqa: F401  (registers the system checks)
