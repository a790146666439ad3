from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vouch.audit.services import audit_prune
from vouch.core.services import DEFAULT_BATCH_SIZE


class Command(BaseCommand):
    help = (
        "Delete audit events older than AUDIT_RETENTION_DAYS (default 90), in batches. "
        "`manage.py prune` runs this with every other clean-up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the retention.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per DELETE."
        )

    def handle(
        self,
        *args: Any,
        days: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **options: Any,
    ) -> None:
        retention = settings.AUDIT_RETENTION_DAYS if days is None else days
        deleted = audit_prune(retention_days=retention, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} audit events older than {retention} days.")
