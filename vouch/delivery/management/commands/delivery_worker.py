import logging
import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vouch.core.outbox import OutboxWorker, outbox_rounds
from vouch.delivery.app_settings import delivery_settings

logger = logging.getLogger("vouch.delivery.worker")


class Command(BaseCommand):
    help = (
        "Send what the outboxes hold: queued messages (TASKS_BACKEND=database) and events for "
        "the host app's webhook endpoints (every TASKS_BACKEND). Each round claims the due "
        "ones, a batch at a time, sends them concurrently and records the outcomes. Run one "
        "or more beside the web server (and beside rqworker with TASKS_BACKEND=rq). SIGTERM "
        "or Ctrl+C finishes the batch in flight, then stops; a second one stops at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.05,
            help="Seconds to wait after a round that found less than a full batch (0.05).",
        )
        parser.add_argument(
            "--idle-interval",
            type=float,
            default=0.4,
            help=(
                "Longest wait while nothing is due (0.4): each empty round doubles the wait "
                "from --interval up to this."
            ),
        )
        parser.add_argument(
            "--until-empty",
            action="store_true",
            help="Stop once no message is due, instead of waiting for more.",
        )

    def handle(
        self,
        *args: Any,
        interval: float,
        idle_interval: float,
        until_empty: bool,
        **options: Any,
    ) -> None:
        rounds = outbox_rounds()
        if not rounds:
            raise CommandError(
                "delivery_worker has nothing to send here: no outbox is enabled (messages "
                "need TASKS_BACKEND=database; with rq run `manage.py rqworker`)."
            )
        if interval < 0 or idle_interval < 0:
            raise CommandError("--interval and --idle-interval must be 0 or more seconds.")
        worker = OutboxWorker(
            interval=interval, idle_interval=idle_interval, until_empty=until_empty
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            if worker.stopping:
                raise SystemExit(1)
            logger.warning(
                "%s: finishing the batch in flight, then stopping", signal.strsignal(signum)
            )
            worker.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        logger.info(
            "Delivery worker started (%s): batches of %s, %s sends at once, %.2f to %.2f s "
            "between rounds",
            ", ".join(outbox_round.name for outbox_round in rounds),
            delivery_settings.BATCH,
            delivery_settings.CONCURRENCY,
            interval,
            max(interval, idle_interval),
        )
        taken = worker.run()
        logger.info("Delivery worker stopped after %s rows", taken)
