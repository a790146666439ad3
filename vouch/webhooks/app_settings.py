"""The webhook settings, read from `django.conf.settings` when asked for."""

from __future__ import annotations

from vouch.core.app_settings import AppSettings

DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
TIMEOUT = 15.0  # seconds an endpoint has to answer (docs/integrate.md, "Receive events")


class WebhookSettings(AppSettings):
    @property
    def ALLOW_PRIVATE_NETWORKS(self) -> bool:
        """
        Whether endpoints may be on loopback, private, link-local or other non-public
        addresses, and use plain http (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`); off in production.
        """
        return bool(self._setting("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))

    @property
    def RETRY_SCHEDULE(self) -> tuple[float, ...]:
        """Seconds before each retry of a failed delivery (`WEBHOOK_RETRY_SCHEDULE`)."""
        return tuple(
            float(delay)
            for delay in self._setting("WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)
        )

    @property
    def DISABLE_AFTER_DAYS(self) -> float:
        """
        An endpoint every delivery to which has failed for this many days is switched off
        (`WEBHOOK_DISABLE_AFTER_DAYS`).
        """
        return float(self._setting("WEBHOOK_DISABLE_AFTER_DAYS", 5))

    @property
    def RETENTION_DAYS(self) -> int:
        """Days events are kept (`DELIVERY_RETENTION_DAYS`, shared with the messages)."""
        return int(self._setting("DELIVERY_RETENTION_DAYS", 30))

    @property
    def BATCH(self) -> int:
        """Deliveries one round claims (`DELIVERY_BATCH`, shared with the messages)."""
        return max(1, int(self._setting("DELIVERY_BATCH", 32)))

    @property
    def CONCURRENCY(self) -> int:
        """Deliveries sent at once (`DELIVERY_CONCURRENCY`, shared with the messages)."""
        return max(1, min(int(self._setting("DELIVERY_CONCURRENCY", 32)), self.BATCH))


webhook_settings = WebhookSettings()
