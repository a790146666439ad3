from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vouch.apikeys.errors import InvalidScopes
from vouch.apikeys.models import Scope
from vouch.apikeys.services import api_key_create
from vouch.core import clock


class Command(BaseCommand):
    help = (
        "Create an API key for a server and print it. The key is printed this once and stored "
        "only as a hash: keep it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="What the key is for (50 characters).")
        parser.add_argument(
            "--scopes",
            required=True,
            nargs="+",
            help=f"One or more of {', '.join(Scope.values)} (spaces or commas between them).",
        )
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Stop working after so many days."
        )

    def handle(
        self, *args: Any, name: str, scopes: list[str], expires_in_days: int | None, **options: Any
    ) -> None:
        name = name.strip()
        if not name or len(name) > 50:
            raise CommandError("--name must have 1 to 50 characters.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expiry = clock.now() + timedelta(days=expires_in_days) if expires_in_days else None
        wanted = [part for scope in scopes for part in scope.split(",")]
        try:
            api_key, raw = api_key_create(name=name, scopes=wanted, expiry_date=expiry)
        except InvalidScopes as error:
            raise CommandError(f"--scopes: {error}.") from None
        self.stderr.write(
            f"API key {api_key.prefix} ({api_key.name}) with scopes {' '.join(api_key.scopes)}. "
            "It is shown this once: store it now."
        )
        self.stdout.write(raw)
