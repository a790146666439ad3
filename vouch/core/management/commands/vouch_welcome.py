from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Explain, in plain words, how to sign in to a local development server."

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.SMS_BACKEND
        where = {
            "console": "in this terminal, under 'SMS to ...'",
            "file": f"in a new file under {settings.SMS_FILE_PATH}",
        }.get(backend, f"wherever the '{backend}' SMS backend delivers it")
        where_short = "in this terminal" if backend == "console" else where
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Vouch is starting on http://127.0.0.1:8000",
                    "",
                    "In a browser: open http://127.0.0.1:8000/ and sign in with any phone number;",
                    f"the code appears {where_short}, and at http://127.0.0.1:8000/dev/outbox/",
                    "",
                    "With the API:",
                    "  1. Ask for a code:",
                    "     curl -s -X POST http://127.0.0.1:8000/api/users/authenticate/ \\",
                    "          -H 'Content-Type: application/json' \\",
                    '          -d \'{"phone": "+79123456789"}\'',
                    f"  2. The code appears {where}.",
                    "  3. Sign in with it:",
                    "     curl -s -X POST http://127.0.0.1:8000/api/users/authenticate/ \\",
                    "          -H 'Content-Type: application/json' \\",
                    '          -d \'{"phone": "+79123456789", "code": "<the code>"}\'',
                    "",
                    "API docs: http://127.0.0.1:8000/api/docs/",
                    "Admin:    http://127.0.0.1:8000/admin/",
                    "(create an admin with: .venv/bin/python manage.py createsuperuser)",
                    "",
                ]
            )
        )
