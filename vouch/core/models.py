from django.db import models


class LimitCounter(models.Model):
    """
    One rate-limit window: `count` events since `window_started_at`.

    Rows are updated only by conditional UPDATE statements (see `vouch.core.limiter`), so the
    database serialises concurrent hits across every process and host.
    """

    key = models.CharField(max_length=200, unique=True)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
