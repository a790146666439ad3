"""
Activating an invite code: once per user, for ever, never one's own, never a cycle. Misses
count against the limits of `policies`, so codes cannot be found by guessing.

The funnel is counted as it happens, in the transaction of what it counts: link visits, codes
requested with an invite code (step 1), sign-ups and activations, per invite code and UTC day
and per UTC day and country. Each activation leaves a `Referral` row and is checked against
the rules of suspicious referrals (`FlagReason`), which flag it for staff, never refuse it.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F, Model
from django.utils.crypto import salted_hmac
from phonenumbers import NumberParseException

from vouch.accounts.models import User
from vouch.accounts.services import referral_tree_lock
from vouch.audit.models import Kind
from vouch.audit.services import audit_record
from vouch.core import clock
from vouch.core.codes import normalize_invite_code
from vouch.core.errors import ApplicationError, Throttled
from vouch.core.phones import phone_region
from vouch.core.requests import NO_ORIGIN, Origin, ip_bucket
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches
from vouch.referrals import policies
from vouch.referrals.app_settings import referrals_settings
from vouch.referrals.downline import current_tables, downline_attach
from vouch.referrals.errors import (
    FlagNotFound,
    InviteAlreadyActivated,
    InviteCycle,
    InviteNotFound,
    OwnInviteCode,
)
from vouch.referrals.models import (
    FlagReason,
    FunnelDay,
    InviteDay,
    InviteVisitor,
    Referral,
    ReferralFlag,
)
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


def invite_code_activate(
    *, user: User, raw_code: str, origin: Origin = NO_ORIGIN, sign_up: bool = False
) -> User:
    """
    Make `user` a referral of the owner of `raw_code`; `sign_up` says the activation comes
    with the sign-in that created the account (it counts as a sign-up too).

    Raise InviteNotFound, OwnInviteCode, InviteCycle, InviteAlreadyActivated or Throttled.
    A user who has activated a code is answered before any lookup, and is not counted. Every
    other try takes a slot of the failure caps before the code is looked up and keeps it only
    if the code was a miss. The write is conditional on the user having no activated code, so
    of concurrent activations by one user exactly one succeeds. Both outcomes go to the audit
    trail. A success also leaves its `Referral` row, is counted in the funnel of its day and
    is flagged when it looks self-made, all in its transaction.
    """
    try:
        _refuse_if_activated(user)
        # The slot is taken outside the activation's transaction, which a miss rolls back.
        with policies.activation_guess(user_id=user.pk, ip=origin.ip) as guess:
            try:
                _activate(user=user, raw_code=raw_code, origin=origin, sign_up=sign_up)
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
def _activate(*, user: User, raw_code: str, origin: Origin, sign_up: bool) -> None:
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
    referral = _referral_record(user=user, code=code, origin=origin, sign_up=sign_up, at=now)
    _flags_check(referral=referral, inviter_id=owner.pk, at=now)
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
    day = _today()
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
    # Visits are not tied to a phone: the day's total counts them under the country "".
    return _days_add(code=code, country="", day=day, visits=1)


def invite_visitors_prune(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, today: date | None = None
) -> int:
    """Delete the visitor digests of the days before yesterday; the day counts stay."""
    if today is None:
        today = _today()
    old = InviteVisitor.objects.filter(day__lt=today - timedelta(days=VISITOR_RETENTION_DAYS))
    return delete_in_batches(old, batch_size=batch_size, dry_run=dry_run)


# --- the funnel: codes requested, sign-ups and activations ------------------------------------

_COUNTED = ("visits", "codes_requested", "sign_ups", "activations")
_KNOWN_CODE_SQL = "EXISTS (SELECT 1 FROM {table} WHERE invite_code = %s AND is_active)"


@lru_cache(maxsize=16)
def _day_add_sql(
    model: type[Model], keys: tuple[str, ...], counts: tuple[str, ...], only_if: str
) -> str:
    """
    The upsert that adds to the `counts` columns of the row of `model` with `keys`, creating
    it at its first count; with `only_if`, an SQL condition that must hold for anything to be
    written (INSERT ... SELECT ... WHERE: SQLite reads an upsert from a SELECT only with one).
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(column) for column in (*keys, *_COUNTED))
    values = ", ".join(["%s"] * (len(keys) + len(_COUNTED)))
    source = f"SELECT {values} WHERE {only_if}" if only_if else f"VALUES ({values})"
    updates = ", ".join(
        f"{quote(column)} = {table}.{quote(column)} + excluded.{quote(column)}" for column in counts
    )
    conflict = ", ".join(quote(key) for key in keys)
    return (
        f"INSERT INTO {table} ({columns}) {source} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )


def _days_add(
    *, code: str, country: str, day: date, known_code: bool = False, **counts: int
) -> bool:
    """
    Add `counts` (column: amount) to the day's row of invite code `code` and to its row of
    `country`: one upsert each, so simultaneous counts add up without a lock. With
    `known_code`, only when `code` belongs to an active user (checked in the first upsert).
    Return whether anything was counted.
    """
    amounts = [counts.get(column, 0) for column in _COUNTED]
    names = tuple(column for column in _COUNTED if counts.get(column))
    only_if = ""
    params: list[Any] = [code, day, *amounts]
    if known_code:
        table = connection.ops.quote_name(User._meta.db_table)
        only_if = _KNOWN_CODE_SQL.format(table=table)
        params.append(code)
    with connection.cursor() as cursor:
        cursor.execute(_day_add_sql(InviteDay, ("code", "day"), names, only_if), params)
        if cursor.rowcount != 1:
            return False
        cursor.execute(
            _day_add_sql(FunnelDay, ("day", "country"), names, ""), [day, country, *amounts]
        )
    return True


def _today() -> date:
    return clock.now().astimezone(UTC).date()


def invite_request_count(*, raw_code: str, country: str) -> bool:
    """
    Count a code requested (step 1) with `raw_code` by a phone of `country` ("" when none),
    when it is the code of an active user: in its invite code's day and in its country's.
    Unknown codes count nothing. Meant for the transaction that stores the request; two
    statements for a known code, one for an unknown code, none for one that cannot be a
    code. Return whether it counted.
    """
    code = normalize_invite_code(raw_code)
    if code is None:
        return False
    return _days_add(code=code, country=country, day=_today(), known_code=True, codes_requested=1)


def _phone_country(phone: object) -> str:
    try:
        return phone_region(str(phone)) or ""
    except NumberParseException:
        return ""


# The client network a referral is compared by: the block a home, an office or a mobile
# operator's customer is usually given.
NETWORK_PREFIX_IPV4 = 24
NETWORK_PREFIX_IPV6 = 48


def network_digest(*, ip: str | None) -> str:
    """
    The keyed digest that stands for the client network of `ip`: HMAC-SHA256, under a key
    derived from SECRET_KEY, of its /24 (IPv4, and an IPv4-mapped IPv6 address as the IPv4
    address it carries) or its /48 (IPv6). Equal for two addresses of one network, and no
    address can be read back from it. "" without a valid address.
    """
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = NETWORK_PREFIX_IPV4 if address.version == 4 else NETWORK_PREFIX_IPV6
    network = ipaddress.ip_network((address, prefix), strict=False)
    return salted_hmac("vouch.referrals.network", str(network), algorithm="sha256").hexdigest()


def _referral_record(
    *, user: User, code: str, origin: Origin, sign_up: bool, at: datetime
) -> Referral:
    """
    Store what the activation `user` just made knew (`Referral`) and count it in the funnel
    of its day: an activation of `code`, and a sign-up too when it came with the account's
    creation. The network digest is kept only while the same-network rule is on.
    """
    country = _phone_country(user.phone)
    network = network_digest(ip=origin.ip) if _network_window() else ""
    referral = Referral.objects.create(
        invitee=user, country=country, network=network, at_sign_up=sign_up
    )
    _days_add(
        code=code,
        country=country,
        day=at.astimezone(UTC).date(),
        activations=1,
        sign_ups=1 if sign_up else 0,
    )
    return referral


# --- suspicious referrals ---------------------------------------------------------------------


def _network_window() -> timedelta | None:
    """The window of the same-network rule, None when the rule is off."""
    count, hours = referrals_settings.FLAG_NETWORK_REFERRALS, referrals_settings.FLAG_NETWORK_HOURS
    return timedelta(hours=hours) if count > 0 and hours > 0 else None


@dataclass(frozen=True)
class _Rules:
    """The rules on, by their settings; 0 in any setting of a rule switches it off."""

    network_referrals: int
    network_hours: int
    burst_referrals: int
    burst_minutes: int
    phone_digits: int
    chain_links: int
    chain_hours: int

    @classmethod
    def current(cls) -> _Rules:
        settings = referrals_settings
        network = _network_window() is not None
        burst = settings.FLAG_BURST_REFERRALS > 0 and settings.FLAG_BURST_MINUTES > 0
        chain = settings.FLAG_CHAIN_LINKS > 0 and settings.FLAG_CHAIN_HOURS > 0
        return cls(
            network_referrals=settings.FLAG_NETWORK_REFERRALS if network else 0,
            network_hours=settings.FLAG_NETWORK_HOURS if network else 0,
            burst_referrals=settings.FLAG_BURST_REFERRALS if burst else 0,
            burst_minutes=settings.FLAG_BURST_MINUTES if burst else 0,
            phone_digits=max(0, settings.FLAG_PHONE_RANGE_DIGITS),
            chain_links=settings.FLAG_CHAIN_LINKS if chain else 0,
            chain_hours=settings.FLAG_CHAIN_HOURS if chain else 0,
        )

    def any(self) -> bool:
        return bool(
            self.network_referrals or self.burst_referrals or self.phone_digits or self.chain_links
        )


# The figures the rules judge, read in one statement: each part only when its rule is on.
# The chain climbs from the invitee through each inviter while that inviter's own activation
# lies within the window, at most `links` rows. The counts read the inviter's referrals of the
# window newest first through the index user_referrals_idx (invited_by, -invite_activated_at,
# -id), at most `_RECENT` of them (or the rule's count, if higher), so that an inviter with a
# crowd of referrals in the window costs each activation, which holds the tree's lock, a few
# milliseconds: the count a flag records is exact up to that many.
_RECENT = 1000
_CHAIN_CTE = """WITH RECURSIVE chain(id, invited_by_id, links) AS (
    SELECT id, invited_by_id, 1 FROM {user} WHERE id = %s
    UNION ALL
    SELECT u.id, u.invited_by_id, c.links + 1 FROM {user} u JOIN chain c ON u.id = c.invited_by_id
    WHERE c.links < %s AND u.invite_activated_at >= %s
)
"""
_CHAIN_LINKS = "(SELECT MAX(links) FROM chain)"
_BURST_COUNT = (
    "(SELECT COUNT(*) FROM (SELECT 1 AS one FROM {user} "
    "WHERE invited_by_id = %s AND invite_activated_at >= %s "
    "ORDER BY invite_activated_at DESC, id DESC LIMIT %s) burst)"
)
_NETWORK_COUNT = (
    "(SELECT COUNT(*) FROM (SELECT r.network FROM {user} u JOIN {referral} r "
    "ON r.invitee_id = u.id WHERE u.invited_by_id = %s AND u.invite_activated_at >= %s "
    "ORDER BY u.invite_activated_at DESC, u.id DESC LIMIT %s) recent WHERE network = %s)"
)
_INVITER_PHONE = "(SELECT phone FROM {user} WHERE id = %s)"


@lru_cache(maxsize=32)
def _figures_sql(vendor: str, chain: bool, burst: bool, network: bool, phone: bool) -> str:
    quote = connection.ops.quote_name
    tables = {
        "user": quote(User._meta.db_table),
        "referral": quote(Referral._meta.db_table),
    }
    parts = [
        part
        for part, wanted in (
            (_CHAIN_LINKS, chain),
            (_BURST_COUNT, burst),
            (_NETWORK_COUNT, network),
            (_INVITER_PHONE, phone),
        )
        if wanted
    ]
    sql = (_CHAIN_CTE if chain else "") + "SELECT " + ", ".join(parts)
    return sql.format(**tables)


@dataclass(frozen=True)
class _Figures:
    chain_links: int = 0
    burst_referrals: int = 0
    network_referrals: int = 0
    inviter_phone: str = ""


def _figures(
    *, rules: _Rules, user_id: int, inviter_id: int, network: str, at: datetime
) -> _Figures:
    chain, burst = rules.chain_links > 0, rules.burst_referrals > 0
    network_on, phone = rules.network_referrals > 0 and network != "", rules.phone_digits > 0
    if not (chain or burst or network_on or phone):
        return _Figures()
    since = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    if chain:
        params += [user_id, rules.chain_links, since(at - timedelta(hours=rules.chain_hours))]
    if burst:
        burst_since = since(at - timedelta(minutes=rules.burst_minutes))
        params += [inviter_id, burst_since, max(_RECENT, rules.burst_referrals)]
    if network_on:
        network_since = since(at - timedelta(hours=rules.network_hours))
        params += [inviter_id, network_since, max(_RECENT, rules.network_referrals), network]
    if phone:
        params.append(inviter_id)
    sql = _figures_sql(connection.vendor, chain, burst, network_on, phone)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = list(cursor.fetchone())
    return _Figures(
        chain_links=int(row.pop(0) or 0) if chain else 0,
        burst_referrals=int(row.pop(0) or 0) if burst else 0,
        network_referrals=int(row.pop(0) or 0) if network_on else 0,
        inviter_phone=str(row.pop(0) or "") if phone else "",
    )


def _same_range(phone: str, other: str, *, digits: int) -> bool:
    """Whether two numbers in E.164 differ at most in their last `digits` digits."""
    return len(phone) == len(other) > digits + 1 and phone[:-digits] == other[:-digits]


def _flags_check(*, referral: Referral, inviter_id: int, at: datetime) -> None:
    """
    Flag the activation of `referral` (made at `at`, of `inviter_id`'s code) for each rule of
    suspicious referrals it meets (`FlagReason`), in the activation's transaction: one query
    reads every figure the rules need, whatever the number of referrals, and one INSERT
    stores the flags, leaving a flag that is already there as it was. A flag never refuses
    the activation, and is not announced to webhooks.
    """
    rules = _Rules.current()
    if not rules.any():
        return
    user = referral.invitee
    figures = _figures(
        rules=rules, user_id=user.pk, inviter_id=inviter_id, network=referral.network, at=at
    )
    reasons: list[tuple[str, dict[str, int]]] = []
    if rules.network_referrals and figures.network_referrals >= rules.network_referrals:
        detail = {"referrals": figures.network_referrals, "window_hours": rules.network_hours}
        reasons.append((FlagReason.SAME_NETWORK, detail))
    if rules.burst_referrals and figures.burst_referrals >= rules.burst_referrals:
        detail = {"referrals": figures.burst_referrals, "window_minutes": rules.burst_minutes}
        reasons.append((FlagReason.BURST, detail))
    if rules.phone_digits and _same_range(
        str(user.phone), figures.inviter_phone, digits=rules.phone_digits
    ):
        reasons.append((FlagReason.PHONE_RANGE, {"digits": rules.phone_digits}))
    if rules.chain_links and figures.chain_links >= rules.chain_links:
        detail = {"links": figures.chain_links, "window_hours": rules.chain_hours}
        reasons.append((FlagReason.FAST_CHAIN, detail))
    if reasons:
        ReferralFlag.objects.bulk_create(
            [
                ReferralFlag(invitee_id=user.pk, reason=reason, detail=detail, created_at=at)
                for reason, detail in reasons
            ],
            ignore_conflicts=True,
        )


def referral_flag_review(*, flag_id: int, reviewer: User) -> ReferralFlag:
    """
    Mark the flag `flag_id` reviewed by `reviewer`, now. Conditional on the flag being open,
    so of two reviews, at once or one after the other, the first stays. Return the flag as
    stored; raise FlagNotFound when there is none with this id.
    """
    ReferralFlag.objects.filter(pk=flag_id, reviewed_at__isnull=True).update(
        reviewed_at=clock.now(), reviewed_by=reviewer
    )
    flag = ReferralFlag.objects.filter(pk=flag_id).first()
    if flag is None:
        raise FlagNotFound()
    return flag


def referral_networks_prune(*, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False) -> int:
    """
    Clear the network digest of the referrals activated before the same-network rule's
    window (REFERRALS_FLAG_NETWORK_HOURS; all of them while the rule is off): it serves only
    to compare the referrals within it. At most `batch_size` rows per UPDATE, each its own
    transaction; with `dry_run` only count them. Return how many.
    """
    window = _network_window() or timedelta(0)
    old = Referral.objects.filter(invitee__invite_activated_at__lt=clock.now() - window).exclude(
        network=""
    )
    if dry_run:
        return old.count()
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cleared = 0
    keys = old.order_by("pk").values_list("pk", flat=True)
    while True:
        batch = list(keys[:batch_size])
        if not batch:
            return cleared
        with transaction.atomic():
            cleared += Referral.objects.filter(pk__in=batch).exclude(network="").update(network="")
        if len(batch) < batch_size:
            return cleared


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
