from django.db import models
from django.utils.translation import gettext_lazy as _


class LimitCounter(models.Model):
    """
    One rate-limit window of the database limiter: `count` events since `window_start_ms`
    (milliseconds since the epoch). Rows change only through one atomic upsert (see
    `vouch.core.limiter`), so the database serialises hits from every process and host.
    """

    key = models.CharField(max_length=200, primary_key=True)
    window_start_ms = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
