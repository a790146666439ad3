"""`manage.py settings_reference --language en|ru`: the configuration reference, in Markdown."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vouch.core.settings_registry import LANGUAGES, reference_markdown


class Command(BaseCommand):
    help = (
        "Print the table of every environment variable (variable, default, meaning), one "
        "Markdown table per section under a ### heading, from vouch.core.settings_registry."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--language", choices=LANGUAGES, default="en")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(reference_markdown(options["language"]), ending="")
