from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vouch.delivery.services import CLAIM_SECONDS, messages_requeue_stale


class Command(BaseCommand):
    help = (
        "Queue again the messages a stopped worker left behind (still queued after "
        "--older-than seconds, and no worker's claim on them). Safe to run at any time: a "
        "message that is sent or claimed is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=CLAIM_SECONDS)

    def handle(self, *args: Any, older_than: int, **options: Any) -> None:
        count = messages_requeue_stale(older_than_seconds=older_than)
        self.stdout.write(f"Queued {count} messages again.")
