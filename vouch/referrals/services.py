"""
Activating an invite code: once per user, for ever, never one's own, never a cycle. Misses
count against the limits of `policies`, so codes cannot be found by guessing.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from vouch.accounts.models import User
from vouch.accounts.services import referral_tree_lock
from vouch.audit.models import Kind
from vouch.audit.services import audit_record
from vouch.core import clock
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import ApplicationError, Throttled
from vouch.core.requests import NO_ORIGIN, Origin, ip_bucket
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches
from vouch.referrals import policies
from vouch.referrals.downline import current_tables, downline_attach
from vouch.referrals.errors import (
    InviteAlreadyActivated,
    InviteCycle,
    InviteNotFound,
    OwnInviteCode,
)
from vouch.referrals.models import FunnelDay, InviteDay, InviteVisitor
from vouch.referrals.rebuild import Rebuilt, counts_rebuild
from vouch.referrals.selectors import user_by_invite_code
from vouch.webhooks.services import event_record

logger = logging.getLogger(__name__)

# The refusals that tell a guesser something about the code: they count as failed tries.
_MISSES = (InviteNotFound, OwnInviteCode, InviteCycle)

_IS_ANCESTOR_SQL = """
WITH RECURSIVE chain(id, invited_by_id) AS (
    SELECT id, invited_by_id FROM {table} WHERE id = %s
    UNION
    SELECT u.id, u.invited_by_id FROM {table} u JOIN chain c ON u.id = c.invited_by_id
)
SELECT 1 FROM chain WHERE id = %s LIMIT 1
"""


def _is_ancestor(*, ancestor_id: int, of_id: int) -> bool:
    """True if `ancestor_id` is `of_id` or stands above it in the referral tree."""
    sql = _IS_ANCESTOR_SQL.format(table=connection.ops.quote_name(User._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [of_id, ancestor_id])
        return cursor.fetchone() is not None


def _lock_tree() -> None:
    # Two users activating each other's codes at once would each see no cycle and both
    # write, closing one. Activations are rare, so they take turns (`referral_tree_lock`).
    referral_tree_lock()


def invite_code_activate(*, user: User, raw_code: str, origin: Origin = NO_ORIGIN) -> User:
    """
    Make `user` a referral of the owner of `raw_code`.

    Raise InviteNotFound, OwnInviteCode, InviteCycle, InviteAlreadyActivated or Throttled.
    A user who has activated a code is answered before any lookup, and is not counted. Every
    other try takes a slot of the failure caps before the code is looked up and keeps it only
    if the code was a miss. The write is conditional on the user having no activated code, so
    of concurrent activations by one user exactly one succeeds. Both outcomes go to the audit
    trail.
    """
    try:
        _refuse_if_activated(user)
        # The slot is taken outside the activation's transaction, which a miss rolls back.
        with policies.activation_guess(user_id=user.pk, ip=origin.ip) as guess:
            try:
                _activate(user=user, raw_code=raw_code)
            except _MISSES:
                guess.failed()
                raise
    except ApplicationError as refusal:
        outcome = refusal.code
        if isinstance(refusal, Throttled):
            outcome = f"{refusal.code}:{refusal.scope}"
        audit_record(Kind.INVITE_REFUSED, user=user, origin=origin, outcome=outcome)
        raise
    audit_record(
        Kind.INVITE_ACTIVATED,
        user=user,
        origin=origin,
        detail={"invite_code": user.activated_invite_code, "inviter_id": user.invited_by_id},
    )
    return user


def invite_link_follow(*, raw_code: str, origin: Origin = NO_ORIGIN) -> User | None:
    """
    Return the owner of the code of an invite link, or None when no active user has it.
    Raise Throttled once the client has followed too many links with unknown codes.
    """
    with policies.join_guess(ip=origin.ip) as guess:
        code = normalize_invite_code(raw_code)
        inviter = user_by_invite_code(code=code) if code else None
        if inviter is None:
            guess.failed()
    return inviter


def _activated_code(user: User) -> str | None:
    return User.objects.filter(pk=user.pk).values_list("activated_invite_code", flat=True).first()


def _refuse_if_activated(user: User) -> None:
    if (already := _activated_code(user)) is not None:
        raise InviteAlreadyActivated(activated_invite_code=already)


@transaction.atomic
def _activate(*, user: User, raw_code: str) -> None:
    # `_refuse_if_activated` has answered a user who had activated a code; one who does so
    # meanwhile is caught by the conditional UPDATE below.
    code = normalize_invite_code(raw_code)
    if code is None:
        raise InviteNotFound()
    owner = User.objects.filter(invite_code=code, is_active=True).only("pk").first()
    if owner is None:
        raise InviteNotFound()
    if owner.pk == user.pk:
        raise OwnInviteCode()
    _lock_tree()
    if _is_ancestor(ancestor_id=user.pk, of_id=owner.pk):
        raise InviteCycle()
    now = clock.now()
    claimed = User.objects.filter(pk=user.pk, activated_invite_code__isnull=True).update(
        activated_invite_code=code, invited_by=owner.pk, invite_activated_at=now
    )
    if not claimed:
        raise InviteAlreadyActivated(activated_invite_code=_activated_code(user))
    if not User.objects.filter(pk=owner.pk).update(referrals_count=F("referrals_count") + 1):
        # The owner was deleted while this activation waited for the tree's lock.
        raise InviteNotFound()
    downline_attach(member_id=user.pk, inviter_id=owner.pk)
    user.activated_invite_code, user.invited_by_id, user.invite_activated_at = code, owner.pk, now
    event_record(type="invite.activated", data=lambda: _activated_data(user, owner.pk, code))


def _activated_data(user: User, inviter_id: int, code: str) -> dict[str, object]:
    # Read in the activation's transaction, after its increment: the inviter's row is locked
    # by that UPDATE until the commit, so this is the count right after this activation.
    phone, count = User.objects.filter(pk=inviter_id).values_list("phone", "referrals_count")[0]
    return {
        "inviter": {"id": inviter_id, "phone": str(phone)},
        "invitee": {"id": user.pk, "phone": str(user.phone)},
        "invite_code": code,
        "referrals_count": count,
    }


# --- invite link visits -----------------------------------------------------------------------

# Visitor digests are kept this many days back from today (UTC): today's are needed to count
# each visitor once, yesterday's only until the day's last visits are in.
VISITOR_RETENTION_DAYS = 1

_VISITOR_SQL = "INSERT INTO {table} (day, digest) VALUES (%s, %s) ON CONFLICT DO NOTHING"
_VISIT_DAY_SQL = (
    "INSERT INTO {table} (code, day, visits, codes_requested, sign_ups, activations) "
    "VALUES (%s, %s, 1, 0, 0, 0) "
    "ON CONFLICT (code, day) DO UPDATE SET visits = {table}.visits + 1"
)
# Visits are not tied to a phone, so the day's total counts them under the country "".
_VISIT_FUNNEL_SQL = (
    "INSERT INTO {table} (day, country, visits, codes_requested, sign_ups, activations) "
    "VALUES (%s, '', 1, 0, 0, 0) "
    "ON CONFLICT (day, country) DO UPDATE SET visits = {table}.visits + 1"
)


def visitor_digest(*, code: str, origin: Origin, day: date) -> str:
    """
    The keyed hash that stands for one visitor of `code` on `day`: HMAC-SHA256 of the client's
    network (an IPv6 address by its prefix, as the limits count it) and user agent, under a key
    derived from SECRET_KEY and the day, so that digests of different days cannot be linked.
    """
    visitor = "\n".join((ip_bucket(origin.ip or ""), origin.user_agent, code))
    key_salt = f"vouch.referrals.invite-visit:{day.isoformat()}"
    return salted_hmac(key_salt, visitor, algorithm="sha256").hexdigest()


def invite_visit_count(*, code: str, origin: Origin = NO_ORIGIN) -> bool:
    """
    Count a visit of the invite link of `code` (a known code: the caller has looked it up) by
    the client of `origin`, once per visitor, code and UTC day. Return whether it counted.
    Only a digest of the visitor is stored (`visitor_digest`). Of simultaneous first visits of
    one visitor, one inserts the digest and the others find it, so the day counts it once. A
    database error is logged and swallowed: counting never breaks the page.
    """
    day = clock.now().astimezone(UTC).date()
    digest = visitor_digest(code=code, origin=origin, day=day)
    try:
        return _visit_record(code=code, day=day, digest=digest)
    except DatabaseError:
        logger.exception("Could not count an invite link visit")
        return False


@transaction.atomic
def _visit_record(*, code: str, day: date, digest: str) -> bool:
    # The digest's unique row decides: only the visit that inserts it bumps the day's count.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            _VISITOR_SQL.format(table=quote(InviteVisitor._meta.db_table)), [day, digest]
        )
        if cursor.rowcount != 1:
            return False
        cursor.execute(_VISIT_DAY_SQL.format(table=quote(InviteDay._meta.db_table)), [code, day])
        cursor.execute(_VISIT_FUNNEL_SQL.format(table=quote(FunnelDay._meta.db_table)), [day])
    return True


def invite_visitors_prune(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, today: date | None = None
) -> int:
    """Delete the visitor digests of the days before yesterday; the day counts stay."""
    if today is None:
        today = clock.now().astimezone(UTC).date()
    old = InviteVisitor.objects.filter(day__lt=today - timedelta(days=VISITOR_RETENTION_DAYS))
    return delete_in_batches(old, batch_size=batch_size, dry_run=dry_run)


# --- counts derived from the tree -------------------------------------------------------------


@transaction.atomic
def referral_counts_rebuild() -> Rebuilt:
    """
    Recompute every downline level from the tree, and each day's sign-ups and activations
    per invite code and per country from the users and their referral rows (`rebuild`), for
    a database filled or edited behind the services' back. Link visits and requested codes
    stay. A deleted user's past sign-up and activation are no longer in the source, so they
    leave the day counts. Activations wait under the tree's lock until it is done.
    """
    referral_tree_lock()
    return counts_rebuild(connection, current_tables())
