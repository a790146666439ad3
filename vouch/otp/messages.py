"""The text of a code message, in the request's language, ending in the WebOTP line."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext


def _webotp_line(code: str) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"@{host} #{code}"


def code_sms_text(*, code: str, language: str) -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        text = gettext("Your Vouch code is %(code)s. Do not share it.") % {"code": code}
    return f"{text}\n\n{_webotp_line(code)}"


def code_email(*, code: str, language: str) -> tuple[str, str]:
    """Return the subject and body of a code e-mail."""
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = gettext("Your Vouch code")
        body = gettext(
            "Your Vouch sign-in code is %(code)s.\n\n"
            "It works for %(minutes)s minutes. If you did not ask for it, ignore this e-mail."
        ) % {"code": code, "minutes": max(1, settings.OTP_TTL // 60)}
    return subject, f"{body}\n\n{_webotp_line(code)}"
