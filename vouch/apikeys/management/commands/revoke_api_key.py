from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vouch.apikeys.models import ApiKey
from vouch.apikeys.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the 8 characters before the dot). It stops at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        api_key = ApiKey.objects.filter(prefix=prefix.partition(".")[0]).first()
        if api_key is None:
            raise CommandError("No API key has this prefix.")
        if api_key_revoke(api_key=api_key):
            self.stdout.write(f"Revoked API key {api_key.prefix} ({api_key.name}).")
        else:
            self.stdout.write(f"API key {api_key.prefix} ({api_key.name}) was revoked already.")
