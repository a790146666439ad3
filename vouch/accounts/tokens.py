"""
API tokens: issue, rotate, revoke.

Every sign-in starts a chain (`SignIn`) whose id rides in each refresh token as `sid`. A
refresh token works once: refreshing blacklists it and issues its successor with the same
absolute expiry. Presenting a used one means it was copied, so the whole chain is revoked.

Tokens are signed and verified by `vouch.accounts.keys` (the `kid` header, the keys of a
rotation). An access token names its user as `sub` (OpenID Connect; `user_id` too, as before)
and carries the phone as `phone_number` and `phone_number_verified`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from vouch.accounts import signals
from vouch.accounts.errors import TokenNotValid
from vouch.accounts.keys import token_backend
from vouch.accounts.models import SignIn, User
from vouch.core import clock
from vouch.core.requests import NO_ORIGIN, Origin
from vouch.core.rows import rows_insert

SIGN_IN_CLAIM = "sid"
# When the refresh token was issued, in milliseconds; its access tokens carry it too, so an
# account's `sessions_revoked_at` can refuse every token issued before it (authentication.py).
ISSUED_MS_CLAIM = "iat_ms"


class AccessToken(simplejwt_tokens.AccessToken):
    """simplejwt's access token, signed and verified by the keyring (vouch.accounts.keys)."""

    def get_token_backend(self) -> TokenBackend:
        return token_backend()


class RefreshToken(simplejwt_tokens.RefreshToken):
    access_token_class = AccessToken

    def get_token_backend(self) -> TokenBackend:
        return token_backend()


def _refresh_token_issue(
    *, user: User, sign_in_id: str, exp: int | None = None
) -> tuple[RefreshToken, str]:
    """A refresh token, stored as outstanding, and its signed form (signed once)."""
    token = RefreshToken()
    token[api_settings.USER_ID_CLAIM] = user.pk
    token["sub"] = str(user.pk)
    token[SIGN_IN_CLAIM] = sign_in_id
    token[ISSUED_MS_CLAIM] = int(clock.now().timestamp() * 1000)
    if exp is not None:
        token["exp"] = exp  # the chain's expiry is absolute: rotation never extends it
    signed = str(token)
    outstanding = OutstandingToken(
        user=user,
        jti=token[api_settings.JTI_CLAIM],
        token=signed,
        created_at=clock.now(),
        expires_at=datetime_from_epoch(token["exp"]),
    )
    rows_insert([outstanding])
    return token, signed


def _access(refresh: RefreshToken, user: User) -> str:
    """The access token of `refresh`, with the user's phone (OpenID Connect's claim names)."""
    access = refresh.access_token
    access.set_iat(at_time=refresh.current_time)  # issued with its refresh token, like `exp`
    access["phone_number"] = str(user.phone)
    access["phone_number_verified"] = bool(user.phone_verified)
    return str(access)


def _pair(user: User, refresh: RefreshToken, signed: str) -> dict[str, Any]:
    return {
        "access": _access(refresh, user),
        "refresh": signed,
        "token_type": "Bearer",
        "expires_in": int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


@transaction.atomic(savepoint=False)
def tokens_issue(*, user: User) -> dict[str, Any]:
    """
    Start a sign-in for `user` and return its first access and refresh tokens; inside the
    caller's transaction when there is one (no savepoint: it fails or commits with it).
    """
    sign_in = SignIn(id=uuid.uuid4(), user=user)
    rows_insert([sign_in])
    return _pair(user, *_refresh_token_issue(user=user, sign_in_id=str(sign_in.id)))


def _decode_refresh(raw: str) -> dict[str, Any]:
    try:
        payload = token_backend().decode(raw, verify=True)
    except TokenBackendError:
        raise TokenNotValid() from None
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or SIGN_IN_CLAIM not in payload:
        raise TokenNotValid()
    return payload


def _blacklist(jti: str) -> bool:
    """Blacklist the token; return False if it already was (it has been used before)."""
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is None:
        return False
    try:
        with transaction.atomic():
            _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    except IntegrityError:
        created = False
    return created


def _sign_in_revoke(sign_in_id: str) -> None:
    SignIn.objects.filter(id=sign_in_id, revoked_at__isnull=True).update(revoked_at=clock.now())


def tokens_refresh(*, raw: str, origin: Origin = NO_ORIGIN) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; a reused token revokes its whole sign-in."""
    payload = _decode_refresh(raw)
    sign_in_id = payload[SIGN_IN_CLAIM]
    with transaction.atomic():
        first_use = _blacklist(payload[api_settings.JTI_CLAIM])
        if not first_use:
            _sign_in_revoke(sign_in_id)
    if not first_use:
        reused_by = User.objects.filter(pk=payload[api_settings.USER_ID_CLAIM]).first()
        signals.refresh_token_reused.send(sender=User, user=reused_by, origin=origin)
        raise TokenNotValid()
    sign_in = (
        SignIn.objects.select_related("user")
        .filter(id=sign_in_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if sign_in is None or sign_in.user_id != payload.get(api_settings.USER_ID_CLAIM):
        raise TokenNotValid()
    with transaction.atomic():
        refresh, signed = _refresh_token_issue(
            user=sign_in.user, sign_in_id=sign_in_id, exp=payload["exp"]
        )
    return {"access": _access(refresh, sign_in.user), "refresh": signed}


@transaction.atomic
def tokens_revoke(*, raw: str, user: User, origin: Origin = NO_ORIGIN) -> None:
    """Sign out: the refresh token and every token of its sign-in stop working."""
    payload = _decode_refresh(raw)
    if payload.get(api_settings.USER_ID_CLAIM) != user.pk:
        raise TokenNotValid()
    _blacklist(payload[api_settings.JTI_CLAIM])
    _sign_in_revoke(payload[SIGN_IN_CLAIM])
    signals.signed_out.send(sender=User, user=user, origin=origin)
