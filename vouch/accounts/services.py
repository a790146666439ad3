"""Writes to users: creation with a unique invite code, updates, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from vouch.accounts import signals
from vouch.accounts.errors import PhoneTaken
from vouch.accounts.models import SignIn, User
from vouch.accounts.selectors import user_representation
from vouch.core import clock
from vouch.core.requests import NO_ORIGIN, Origin
from vouch.core.rows import row_first
from vouch.webhooks.services import event_record


def user_create(
    *,
    phone: str,
    email: str = "",
    password: str | None = None,
    is_staff: bool = False,
    is_active: bool = True,
    is_superuser: bool = False,
    email_verified: bool = False,
    phone_verified: bool = False,
    last_login: datetime | None = None,
    actor: User | None = None,
    origin: Origin = NO_ORIGIN,
) -> User:
    """
    Create a user with a fresh invite code (`UserManager.create_user`, which Django's own
    `createsuperuser` calls too), and record the `user.created` event with it; a phone that
    is taken raises PhoneTaken. An account created by signing in is `user_get_or_create`'s.
    """
    with transaction.atomic():
        user = _user_create(
            phone=phone,
            email=email,
            password=password,
            is_staff=is_staff,
            is_active=is_active,
            is_superuser=is_superuser,
            email_verified=email_verified,
            phone_verified=phone_verified,
            last_login=last_login,
            actor=actor,
            origin=origin,
        )
        event_record(
            type="user.created",
            data=lambda: {"user": user_representation(user), "invite_code": None},
        )
    return user


def _user_create(
    *,
    phone: str,
    email: str = "",
    password: str | None = None,
    is_staff: bool = False,
    is_active: bool = True,
    is_superuser: bool = False,
    email_verified: bool = False,
    phone_verified: bool = False,
    last_login: datetime | None = None,
    actor: User | None = None,
    origin: Origin = NO_ORIGIN,
) -> User:
    return User.objects.create_user(
        phone,
        password,
        actor=actor,
        origin=origin,
        email=email,
        email_verified=email_verified,
        phone_verified=phone_verified,
        last_login=last_login,
        is_staff=is_staff,
        is_active=is_active,
        is_superuser=is_superuser,
    )


def user_get_or_create(
    *,
    phone: str,
    email: str = "",
    email_verified: bool = False,
    phone_verified: bool = False,
    last_login: datetime | None = None,
) -> tuple[User, bool]:
    """
    Return the user with this phone (E.164, as stored), creating them (once, even under
    concurrency) with the given address, proofs and `last_login`; an existing user is returned
    as they are. This is sign-up by signing in: the caller records `user.created` once the
    sign-in's invite code is applied.
    """
    user = row_first(User, phone=phone)
    if user is not None:
        return user, False
    try:
        created = _user_create(
            phone=phone,
            email=email,
            email_verified=email_verified,
            phone_verified=phone_verified,
            last_login=last_login,
        )
        return created, True
    except PhoneTaken:
        return User.objects.get(phone=phone), False


@transaction.atomic
def user_update(
    *, user: User, data: dict[str, Any], actor: User | None = None, origin: Origin = NO_ORIGIN
) -> User:
    """
    Apply already-permitted changes. A changed e-mail becomes unverified, and so does a
    changed phone (its holder proves it at their first sign-in by SMS); a phone that belongs
    to someone else raises PhoneTaken.
    """
    changed: list[str] = []
    for field in ("phone", "email", "is_active", "is_staff"):
        if field in data and getattr(user, field) != data[field]:
            setattr(user, field, data[field])
            changed.append(field)
    if "email" in changed:
        user.email_verified = False
        changed.append("email_verified")
    if "phone" in changed and user.phone_verified:
        user.phone_verified = False
        changed.append("phone_verified")
    if not changed:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:
        raise PhoneTaken() from None
    user_changes_record(user=user, fields=changed, actor=actor, origin=origin)
    return user


def user_changes_record(
    *, user: User, fields: list[str], actor: User | None = None, origin: Origin = NO_ORIGIN
) -> None:
    """
    Tell the audit trail and the host app (`user.updated`) that `fields` of `user` were
    changed (by the user or staff), in the transaction of the change: the users API and the
    admin both end here.
    """
    signals.user_updated.send(sender=User, user=user, fields=fields, actor=actor, origin=origin)
    _user_updated_event(user, fields)


def _user_updated_event(user: User, fields: list[str]) -> None:
    event_record(
        type="user.updated",
        data=lambda: {"user": user_representation(user), "changed": list(fields)},
    )


def user_phone_prove(*, user: User, origin: Origin = NO_ORIGIN) -> User:
    """
    Record that the person signing in now received a code on the account's phone.

    Whoever proves the phone owns the account. The first proof of a phone that was never
    proven (an account made by e-mail, by staff, or before phones were tracked) ends every
    other way in: all sessions, access and refresh tokens of the account stop working, and
    its e-mail address, which this person did not prove, is detached. Concurrent proofs
    revoke once.
    """
    if user.phone_verified:
        return user  # the usual case: nothing to write, not even a transaction
    now = clock.now()
    with transaction.atomic():
        proven = User.objects.filter(pk=user.pk, phone_verified=False).update(
            phone_verified=True, email="", email_verified=False, sessions_revoked_at=now
        )
        if proven:
            SignIn.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
            detached = bool(user.email)
            user.phone_verified, user.email, user.email_verified = True, "", False
            user.sessions_revoked_at = now
            signals.phone_proven.send(
                sender=User, user=user, origin=origin, email_detached=detached
            )
            changed = ["phone_verified"] + (["email", "email_verified"] if detached else [])
            _user_updated_event(user, changed)
    if not proven:
        user.refresh_from_db()  # a concurrent sign-in proved it first
    return user


# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises edits of the tree.
_TREE_LOCK_KEY = 0x566F756368_01


def referral_tree_lock() -> None:
    """
    Take the lock that serialises changes of the referral tree (`invited_by`) until the end of
    the current transaction. Activations take it before they check for a cycle; a deletion
    takes it before it locks any row, so that the two always queue in one order. On
    PostgreSQL a transaction-scoped advisory lock; SQLite already runs one write transaction
    at a time (IMMEDIATE mode, see settings).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TREE_LOCK_KEY])


@transaction.atomic
def user_delete(*, user: User, actor: User | None = None, origin: Origin = NO_ORIGIN) -> None:
    """
    Delete the user. Their inviter's count drops by one; the people they invited keep their
    activated code and lose only the link (`invited_by` becomes null).
    """
    referral_tree_lock()
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        return
    if locked.invited_by_id is not None:
        User.objects.filter(pk=locked.invited_by_id, referrals_count__gt=0).update(
            referrals_count=F("referrals_count") - 1
        )
    phone, user_id = str(locked.phone), locked.pk
    locked.delete()
    event_record(type="user.deleted", data={"user": {"id": user_id}})
    signals.user_deleted.send(
        sender=User, user=None, user_id=user_id, phone=phone, actor=actor, origin=origin
    )


def user_signed_out(*, user: User, origin: Origin = NO_ORIGIN) -> None:
    """A session on the pages ended by the user's choice (the API's logout revokes tokens)."""
    signals.signed_out.send(sender=User, user=user, origin=origin)
