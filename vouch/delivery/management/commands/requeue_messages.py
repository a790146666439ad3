from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vouch.delivery.services import (
    CLAIM_SECONDS,
    delivery_claims_outbox,
    messages_requeue_stale,
)


class Command(BaseCommand):
    help = (
        "Queue again the messages a stopped RQ worker left behind (still queued after "
        "--older-than seconds, and no worker's claim on them). Safe to run at any time: a "
        "message that is sent or claimed is left alone. With TASKS_BACKEND=database there is "
        "nothing to do: delivery workers take such messages from the outbox themselves."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=CLAIM_SECONDS)

    def handle(self, *args: Any, older_than: int, **options: Any) -> None:
        if delivery_claims_outbox():
            self.stdout.write(
                "Nothing to queue: delivery workers take due messages from the outbox themselves."
            )
            return
        count = messages_requeue_stale(older_than_seconds=older_than)
        self.stdout.write(f"Queued {count} messages again.")
