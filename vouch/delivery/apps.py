from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "vouch.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from vouch.core.outbox import OutboxRound, outbox_round_register
        from vouch.delivery import (
            checks,  # noqa: F401  (registers the system checks)
            services,
        )
        from vouch.delivery.app_settings import delivery_settings

        # The messages' round runs where the outbox is the queue (TASKS_BACKEND=database).
        outbox_round_register(
            OutboxRound(
                name="messages",
                deliver_due=lambda: services.messages_deliver_due(),
                batch=lambda: delivery_settings.BATCH,
                enabled=services.delivery_claims_outbox,
            )
        )
