from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "vouch.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from vouch.core.outbox import OutboxRound, outbox_round_register
        from vouch.webhooks import services
        from vouch.webhooks.app_settings import webhook_settings

        # Events go out with every TASKS_BACKEND: the delivery worker always has this round.
        outbox_round_register(
            OutboxRound(
                name="webhooks",
                deliver_due=lambda: services.deliveries_deliver_due(),
                batch=lambda: webhook_settings.BATCH,
            )
        )
