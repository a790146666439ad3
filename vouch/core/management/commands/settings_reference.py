"""`manage.py settings_reference --language en|ru`: the configuration reference, in Markdown."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vouch.core.settings_registry import LANGUAGES, PAGES, page_with_reference, reference_markdown


class Command(BaseCommand):
    help = (
        "Print the table of every environment variable (variable, default, meaning), one "
        "Markdown table per section under a ### heading, from vouch.core.settings_registry."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--language", choices=LANGUAGES, default="en")
        parser.add_argument(
            "--write",
            action="store_true",
            help="Write the reference into the configuration pages of the docs site instead.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["write"]:
            self.stdout.write(reference_markdown(options["language"]), ending="")
            return
        for language, relative in PAGES.items():
            path = settings.BASE_DIR / relative
            path.write_text(page_with_reference(path.read_text(), language))
            self.stdout.write(f"wrote {relative}")
