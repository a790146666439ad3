"""
The text of a code message, from templates in the request's language. A template can be
overridden per language by path: `otp/messages/<lang>/code_sms.txt` before
`otp/messages/code_sms.txt`. The last line is the WebOTP line (`@<host> #<code>`), and the
wording names the code ("code", "код"), which is what iOS looks for to offer autofill.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import select_template
from django.utils import translation

from vouch.core.app_settings import core_settings
from vouch.otp.app_settings import otp_settings


def _render(name: str, language: str, context: dict[str, Any]) -> str:
    language = language or settings.LANGUAGE_CODE
    # Django's cached template loader keeps the compiled templates (a lookup is microseconds).
    template = select_template([f"otp/messages/{language}/{name}", f"otp/messages/{name}"])
    with translation.override(language):
        return template.render(context).strip()


def _context(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "host": urlsplit(core_settings.SITE_URL).hostname or "localhost",
        "minutes": max(1, otp_settings.TTL // 60),
    }


def code_sms_text(*, code: str, language: str) -> str:
    return _render("code_sms.txt", language, _context(code))


def code_email(*, code: str, language: str) -> tuple[str, str]:
    """Return the subject and body of a code e-mail."""
    context = _context(code)
    subject = _render("code_email_subject.txt", language, context)
    return " ".join(subject.split()), _render("code_email_body.txt", language, context)
