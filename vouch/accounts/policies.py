"""
The limits against guessing staff passwords at the admin login: wrong passwords per account
(the phone entered) and per client IP within ADMIN_LOGIN_LOCKOUT seconds. At either cap the
login refuses every password, the right one too, until the window ends.

They use the project's limiter rather than django-axes, which would keep a second store of
counters (in the database only, not the shared Redis), without Retry-After or grouping IPv6
clients by network.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager

from vouch.accounts.app_settings import accounts_settings
from vouch.core.attempts import Attempt, Limit, attempt
from vouch.core.phones import InvalidPhone, phone_parse
from vouch.core.requests import ip_bucket

ACCOUNT_INPUT_MAX = 64


def admin_account(raw: str) -> tuple[str, str]:
    """
    The account an admin login names, as its limit counts it, and the phone it is: for a phone
    however written, its E.164 form as both; for anything else, the text trimmed and
    lower-cased, and no phone ("").
    """
    text = (raw or "").strip()[:ACCOUNT_INPUT_MAX]
    try:
        phone = phone_parse(text)
    except InvalidPhone:
        return text.lower(), ""
    return phone, phone


def admin_login_try(*, account: str, ip: str | None) -> AbstractContextManager[Attempt]:
    """
    Admit one admin password try for `account` (see `admin_account`) from `ip`, or raise
    Throttled. Call `failed()` when the password was refused; a sign-in gives the slots back.
    """
    window = accounts_settings.ADMIN_LOGIN_LOCKOUT
    limits = []
    if account:
        # Hashed: the key stays short whatever was typed, and holds no phone number.
        digest = hashlib.sha256(account.encode()).hexdigest()[:32]
        limits.append(
            Limit(
                "admin_account",
                f"admin:login:failures-account:{digest}",
                accounts_settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT,
                window,
            )
        )
    if ip:
        limits.append(
            Limit(
                "admin_ip",
                f"admin:login:failures-ip:{ip_bucket(ip)}",
                accounts_settings.ADMIN_LOGIN_FAILURES_PER_IP,
                window,
            )
        )
    return attempt(limits)
