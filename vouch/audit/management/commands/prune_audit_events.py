from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vouch.audit.services import audit_prune


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS (default 90)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the retention.")

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        retention = settings.AUDIT_RETENTION_DAYS if days is None else days
        deleted = audit_prune(retention_days=retention)
        self.stdout.write(f"Deleted {deleted} audit events older than {retention} days.")
