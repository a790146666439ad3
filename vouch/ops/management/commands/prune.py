from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vouch.audit.services import audit_prune
from vouch.core.services import DEFAULT_BATCH_SIZE, limit_counters_prune, task_results_prune
from vouch.delivery.services import messages_prune
from vouch.otp.services import challenges_prune
from vouch.referrals.services import invite_visitors_prune, referral_networks_prune
from vouch.webhooks.services import events_prune


class Command(BaseCommand):
    help = (
        "Delete what is no longer needed: expired challenges past OTP_CHALLENGE_RETENTION_DAYS, "
        "messages (not queued ones) and host-app events (none with a pending delivery) past "
        "DELIVERY_RETENTION_DAYS, audit events past "
        "AUDIT_RETENTION_DAYS, expired rate-limit counters, invite link visitor digests older than "
        "yesterday (the day counts stay), and clear the network digests of referrals older than "
        "REFERRALS_FLAG_NETWORK_HOURS and, with TASKS_BACKEND=database, "
        "finished task results past TASK_RESULT_RETENTION_DAYS. Deletes in short batches; "
        "safe to run at any time and as often as wanted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Primary keys per DELETE, each DELETE its own transaction (default %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        verb = "Would delete" if dry_run else "Deleted"

        challenges = challenges_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(f"{verb} {challenges} expired challenges.")
        messages = messages_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(
            f"{verb} {messages.messages} messages and {messages.attempts} delivery attempts."
        )
        webhook_events = events_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(f"{verb} {webhook_events} webhook events with their deliveries.")
        events = audit_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(f"{verb} {events} audit events.")
        counters = limit_counters_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(f"{verb} {counters} expired rate-limit counters.")
        visitors = invite_visitors_prune(batch_size=batch_size, dry_run=dry_run)
        self.stdout.write(f"{verb} {visitors} invite link visitor digests.")
        networks = referral_networks_prune(batch_size=batch_size, dry_run=dry_run)
        cleared = "Would clear" if dry_run else "Cleared"
        self.stdout.write(f"{cleared} {networks} referral network digests.")
        results = task_results_prune(batch_size=batch_size, dry_run=dry_run)
        if results is None:
            self.stdout.write("Task results: not stored in this database (TASKS_BACKEND).")
        else:
            self.stdout.write(f"{verb} {results} finished task results.")
