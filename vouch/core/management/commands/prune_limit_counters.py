from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from vouch.core import clock
from vouch.core.models import LimitCounter

# The longest window any limit uses (the daily failure cap). A counter whose window started
# before this can only ever be reset by its next hit, so deleting it changes nothing.
LONGEST_WINDOW = timedelta(days=1)


class Command(BaseCommand):
    help = "Delete rate-limit counters whose windows have passed (safe to run at any time)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted, _ = LimitCounter.objects.filter(
            window_start_ms__lt=int((clock.now() - LONGEST_WINDOW).timestamp() * 1000)
        ).delete()
        self.stdout.write(f"Deleted {deleted} expired rate-limit counters.")
