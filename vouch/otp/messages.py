"""
The text of a code message, from templates in the request's language. A template can be
overridden per language by path: `otp/messages/<lang>/code_sms.txt` before
`otp/messages/code_sms.txt`. The last line is the WebOTP line (`@<host> #<code>`), and the
wording names the code ("code", "код"), which is what iOS looks for to offer autofill.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import select_template
from django.utils import translation

from vouch.core.app_settings import core_settings
from vouch.otp.app_settings import otp_settings


def _render(name: str, language: str, context: dict[str, Any]) -> str:
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        return _template(name, language).render(context).strip()


def _template(name: str, language: str) -> Any:
    """The compiled template, looked up once per process (on every use with DEBUG)."""
    if settings.DEBUG:
        return _select(name, language)
    return _selected(name, language)


def _select(name: str, language: str) -> Any:
    return select_template([f"otp/messages/{language}/{name}", f"otp/messages/{name}"])


_selected = lru_cache(maxsize=64)(_select)


@receiver(setting_changed)
def _templates_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TEMPLATES", "DEBUG"):
        _selected.cache_clear()


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
