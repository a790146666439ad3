from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vouch.core.services import DEFAULT_BATCH_SIZE, limit_counters_prune


class Command(BaseCommand):
    help = (
        "Delete rate-limit counters whose windows have passed (safe to run at any time). "
        "`manage.py prune` runs this with every other clean-up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per DELETE."
        )

    def handle(self, *args: Any, batch_size: int = DEFAULT_BATCH_SIZE, **options: Any) -> None:
        deleted = limit_counters_prune(batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} expired rate-limit counters.")
