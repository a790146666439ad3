"""
Step 1 (`challenge_request`) and step 2 (`challenge_verify`, `sign_in_with_code`) of the
phone sign-in. Both front ends, the API and the web pages, call these and nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connections, router, transaction

from vouch.accounts.models import User
from vouch.accounts.selectors import user_representation
from vouch.accounts.services import user_get_or_create, user_phone_prove
from vouch.accounts.tokens import tokens_issue
from vouch.audit.models import AuthEvent, Kind
from vouch.audit.services import audit_event, audit_record, audit_store
from vouch.core import clock
from vouch.core.errors import ApplicationError
from vouch.core.phones import (
    mask_email,
    mask_phone,
    mask_phone_for_log,
    phone_parse,
    phone_region,
)
from vouch.core.requests import NO_ORIGIN, Origin
from vouch.core.rows import row_first, rows_insert
from vouch.core.services import DEFAULT_BATCH_SIZE, delete_in_batches
from vouch.delivery.models import Message
from vouch.delivery.models import Status as MessageStatus
from vouch.delivery.services import delivery_runs_in_request, message_create, message_enqueue
from vouch.otp import policies
from vouch.otp.app_settings import otp_settings
from vouch.otp.errors import (
    AttemptsExceeded,
    CodeExpired,
    DeliveryFailed,
    EmailMismatch,
    InvalidCode,
    NoActiveCode,
    RegionNotAllowed,
    UserInactive,
)
from vouch.otp.hashing import code_generate, code_hash, code_matches, salt_generate
from vouch.otp.inputs import channel_resolve, code_normalize, email_for_channel, email_key
from vouch.otp.messages import code_email, code_sms_text
from vouch.otp.models import Challenge, Channel, DeliveryStatus
from vouch.otp.selectors import CONVERSION_MAX_HOURS
from vouch.referrals.services import invite_code_activate, invite_request_count
from vouch.webhooks.services import events_record

logger = logging.getLogger(__name__)


class _LoggedPhone:
    """A phone masked for a log line only if the line is written."""

    __slots__ = ("phone",)

    def __init__(self, phone: str) -> None:
        self.phone = phone

    def __str__(self) -> str:
        return mask_phone_for_log(self.phone)


@dataclass(frozen=True)
class CodeRequested:
    phone: str
    channel: str
    destination: str
    code_length: int
    expires_in: int
    resend_in: int


@dataclass(frozen=True)
class SignedIn:
    user: User
    created: bool
    invite: dict[str, Any] | None
    tokens: dict[str, Any] | None = None  # with `issue_tokens`


def _code_message(
    *, channel: str, destination: str, code: str, language: str, expires_at: datetime
) -> Message:
    """Store the code's message for delivery; it is queued when the transaction commits."""
    if channel == Channel.EMAIL:
        subject, body = code_email(code=code, language=language)
    else:
        subject, body = "", code_sms_text(code=code, language=language)
    message = message_create(
        channel=channel,
        destination=destination,
        body=body,
        subject=subject,
        code=code,
        language=language,
        expires_at=expires_at,
    )
    message_enqueue(message=message)
    return message


def _email_signs_in(*, phone: str, email: str) -> bool:
    """
    Whether a code sent to `email` may sign in to `phone`'s account: the account has this
    address, verified; or there is no account and OTP_EMAIL_SIGNUP lets the e-mail create one.
    """
    account = User.objects.filter(phone=phone).values("email", "email_verified").first()
    if account is None:
        return otp_settings.EMAIL_SIGNUP
    return bool(account["email_verified"]) and email_key(account["email"]) == email_key(email)


def challenge_request(
    *,
    phone: str,
    channel: str | None = None,
    email: str = "",
    invite_code: str = "",
    origin: Origin = NO_ORIGIN,
    language: str = "",
) -> CodeRequested:
    """
    Send a fresh code to `phone` (by SMS) or to `email`, replacing any earlier code. The
    channel is the default one when None; `inputs` says which phone, channel and e-mail are
    taken (InvalidPhone, ChannelUnknown, ChannelSwitchedOff, EmailRequired).

    The answer does not depend on whether the phone has an account, nor on whether `email`
    may sign in to it: a code for an address that may not is withheld (never sent, and no
    code it could carry signs in), with the same answer and the same limits counted. Raise
    RegionNotAllowed, Throttled (the limits of `policies`) or DeliveryFailed; a code that
    could not be delivered can never sign in. A request that fails on the way (the database
    stops) gives back every limit it counted.
    """
    phone = phone_parse(phone)
    channel = channel_resolve(channel)
    email = email_for_channel(channel=channel, email=email)
    by_email = channel == Channel.EMAIL
    limited_email = email if by_email else ""
    try:
        allowed = otp_settings.ALLOWED_REGIONS
        if allowed and phone_region(phone) not in allowed:
            raise RegionNotAllowed()
        policies.send_permit(phone=phone, ip=origin.ip, email=limited_email)
    except ApplicationError as refusal:
        audit_record(Kind.CODE_REFUSED, phone=phone, origin=origin, outcome=_outcome(refusal))
        raise

    try:
        challenge = _challenge_create(
            phone=phone,
            channel=channel,
            email=email,
            invite_code=invite_code,
            origin=origin,
            language=language,
        )
    except Exception:
        policies.send_refund(phone=phone, ip=origin.ip, email=limited_email, budget=True)
        raise
    if challenge.delivery_status == DeliveryStatus.PENDING and delivery_runs_in_request():
        # With the immediate task backend the message has been sent (or has failed) by now;
        # `challenges_delivery_update` recorded the outcome on the challenge as it happened
        # (challenge unusable, quota refunded, audit), and the caller learns it here. A worker
        # backend has not sent it yet: nothing to read back.
        challenge.refresh_from_db(fields=["delivery_status"])
        if challenge.delivery_status == DeliveryStatus.FAILED:
            raise DeliveryFailed()
    logger.info("Code requested for %s by %s", _LoggedPhone(phone), channel)

    test_code = otp_settings.TEST_NUMBERS.get(phone)
    masked = mask_email(email) if by_email else mask_phone(phone)
    return CodeRequested(
        phone=phone,
        channel=channel,
        destination=masked,
        code_length=len(test_code) if test_code else otp_settings.CODE_LENGTH,
        expires_in=otp_settings.TTL,
        resend_in=otp_settings.RESEND_COOLDOWN,
    )


def _challenge_create(
    *, phone: str, channel: str, email: str, invite_code: str, origin: Origin, language: str
) -> Challenge:
    """
    Write the challenge, its message (unless withheld) and the audit lines, and count a
    request with an invite code in the funnel (`invite_request_count`); one commit.
    """
    by_email = channel == Channel.EMAIL
    withheld = by_email and not _email_signs_in(phone=phone, email=email)
    test_code = otp_settings.TEST_NUMBERS.get(phone)
    code = test_code or code_generate(otp_settings.CODE_LENGTH)
    if test_code:
        delivery = DeliveryStatus.TEST
    elif withheld:
        delivery = DeliveryStatus.WITHHELD
    else:
        delivery = DeliveryStatus.PENDING
    now = clock.now()
    expires_at = now + timedelta(seconds=otp_settings.TTL)
    destination = email if by_email else phone
    salt = salt_generate()
    # The message, the challenge and the audit lines are written together (one commit); the
    # message is handed to the task queue once they are, and with the immediate task backend
    # it is sent by the time the block ends.
    with transaction.atomic():
        message = None
        if delivery == DeliveryStatus.PENDING:
            message = _code_message(
                channel=channel,
                destination=destination,
                code=code,
                language=language,
                expires_at=expires_at,
            )
        region = phone_region(phone) or ""
        challenge = Challenge(
            phone=phone,
            region=region,
            channel=channel,
            destination=destination,
            code_hash=code_hash(code=code, salt=salt, phone=phone),
            salt=salt,
            created_at=now,
            expires_at=expires_at,
            invite_code=invite_code,
            ip=origin.ip,
            user_agent=origin.user_agent,
            language=language,
            message=message,
            delivery_status=delivery,
        )
        rows_insert([challenge])
        if invite_code:
            invite_request_count(raw_code=invite_code, country=region)
        audit_record(Kind.CODE_REQUESTED, phone=phone, origin=origin, outcome=channel)
        if test_code:
            audit_record(Kind.CODE_SENT, phone=phone, origin=origin, outcome="test_number")
        elif withheld:
            audit_record(
                Kind.CODE_WITHHELD, phone=phone, origin=origin, outcome="email_not_on_account"
            )
    return challenge


def _outcome(error: ApplicationError) -> str:
    scope = getattr(error, "scope", "")
    return f"{error.code}:{scope}" if scope else error.code


# A withheld code went nowhere: every try at it is wrong, as at a code nobody knows.
_NEVER_SIGNS_IN = frozenset({DeliveryStatus.WITHHELD})


def _verdict(challenge: Challenge | None, code: str, phone: str) -> bool | ApplicationError:
    """
    What a try at `challenge` is before anything counts: the refusal when there is no code
    to judge (NoActiveCode, CodeExpired), else whether `code` is right. The comparison needs
    no database.
    """
    if (
        challenge is None
        or challenge.consumed_at is not None
        or challenge.delivery_status == DeliveryStatus.FAILED
    ):
        return NoActiveCode()
    if challenge.expires_at <= clock.now():
        return CodeExpired()
    return (
        code_matches(code=code, salt=challenge.salt, phone=phone, expected_hash=challenge.code_hash)
        and challenge.delivery_status not in _NEVER_SIGNS_IN
    )


def _judge(
    challenge: Challenge | None, verdict: bool | ApplicationError, guess: policies.Guess
) -> Challenge:
    """Count this try on the challenge and consume it if the code is right, or raise."""
    if isinstance(verdict, ApplicationError):
        raise verdict
    if challenge is None:  # never: a verdict on a code has its challenge
        raise NoActiveCode()
    right = verdict
    # Count the try and, for the right code, consume the challenge in the same conditional
    # UPDATE: concurrent right codes cannot use up the attempts of the one that wins, and
    # only one of them changes the row.
    limit = otp_settings.MAX_ATTEMPTS
    if not _try_count(challenge.pk, limit=limit, consumed_at=clock.now() if right else None):
        live = Challenge.objects.filter(pk=challenge.pk, consumed_at__isnull=True)
        if live.exists():
            raise AttemptsExceeded()
        raise NoActiveCode()
    if not right:
        guess.failed()
        attempts = Challenge.objects.values_list("attempts", flat=True).get(pk=challenge.pk)
        raise InvalidCode(attempts_left=max(0, limit - attempts))
    return challenge


@lru_cache(maxsize=4)
def _try_count_sql(alias: str, consumes: bool) -> str:
    ops = connections[alias].ops
    table, attempts, consumed_at, pk = (
        ops.quote_name(name) for name in (Challenge._meta.db_table, "attempts", "consumed_at", "id")
    )
    consume = f", {consumed_at} = %s" if consumes else ""
    return (
        f"UPDATE {table} SET {attempts} = {attempts} + 1{consume} "  # noqa: S608
        f"WHERE {pk} = %s AND {consumed_at} IS NULL AND {attempts} < %s"
    )


def _try_count(pk: int, *, limit: int, consumed_at: datetime | None) -> bool:
    """
    Count a try on the challenge `pk` while it is unconsumed and has tries left, consuming it
    at `consumed_at` if given: one conditional UPDATE (every step 2 makes it, so its SQL is
    built once). False when it changed nothing.
    """
    alias = router.db_for_write(Challenge)
    connection = connections[alias]
    params: list[Any] = [pk, limit]
    if consumed_at is not None:
        params.insert(0, connection.ops.adapt_datetimefield_value(consumed_at))
    with connection.cursor() as cursor:
        cursor.execute(_try_count_sql(alias, consumed_at is not None), params)
        return bool(cursor.rowcount)


def challenge_verify(*, phone: str, code: str, origin: Origin = NO_ORIGIN) -> Challenge:
    """
    Check `code` against the newest challenge of `phone` and consume it.

    Every try counts, and the right code consumes the challenge in the same conditional
    UPDATE, so of concurrent requests with the right code exactly one gets the challenge; the
    rest see it consumed. Every wrong code also counts towards the phone's daily cap, which
    locks it. Raise InvalidCode (with `attempts_left`), AttemptsExceeded, CodeExpired,
    NoActiveCode or Throttled; a phone or a code that cannot be one (InvalidPhone,
    CodeMalformed) is refused before anything counts.
    """
    challenge = _challenge_consume(phone=phone, code=code, origin=origin)
    audit_record(Kind.CODE_VERIFIED, phone=challenge.phone, origin=origin)
    return challenge


def _challenge_consume(*, phone: str, code: str, origin: Origin) -> Challenge:
    """`challenge_verify` but for its CODE_VERIFIED event, which the caller records."""
    phone = phone_parse(phone)
    code = code_normalize(code)
    guess: policies.Guess | None = None
    try:
        newest = row_first(Challenge, phone=phone, order_by=("-created_at", "-id"))
        email = newest.destination if newest and newest.channel == Channel.EMAIL else ""
        # Judged before the limits: only a wrong code takes a slot of the failure caps, and
        # every try makes one call to the limiter, with the same refusal whatever the code.
        verdict = _verdict(newest, code, phone)
        wrong = verdict is False
        with policies.guess(phone=phone, ip=origin.ip, email=email, wrong=wrong) as guess:
            challenge = _judge(newest, verdict, guess)
    except ApplicationError as refusal:
        audit_record(Kind.CODE_REJECTED, phone=phone, origin=origin, outcome=_outcome(refusal))
        if guess is not None and guess.locks_phone:
            audit_record(Kind.PHONE_LOCKED, phone=phone, origin=origin, outcome="failures_per_day")
        raise
    return challenge


def _invite_outcome(user: User, raw_code: str, origin: Origin, *, sign_up: bool) -> dict[str, Any]:
    try:
        invite_code_activate(user=user, raw_code=raw_code, origin=origin, sign_up=sign_up)
    except ApplicationError as error:
        return {"activated": False, "code": error.code}
    return {"activated": True}


def _account_for(challenge: Challenge, *, signed_in_at: datetime) -> tuple[User, bool]:
    """
    The account a consumed challenge signs in to, created if need be (signed in at
    `signed_in_at`). A code that reached the phone finds or creates the phone's account; a
    code sent by e-mail signs in only where that address is on the account and verified, or
    (OTP_EMAIL_SIGNUP) creates an account whose phone stays unproven. Raise EmailMismatch
    otherwise.
    """
    phone = challenge.phone
    if challenge.channel != Channel.EMAIL:
        return user_get_or_create(phone=phone, phone_verified=True, last_login=signed_in_at)
    user = User.objects.filter(phone=phone).first()
    if user is None and otp_settings.EMAIL_SIGNUP:
        user, created = user_get_or_create(
            phone=phone,
            email=challenge.destination,
            email_verified=True,
            last_login=signed_in_at,
        )
        if created:
            return user, True
    if user is None or not (
        user.email_verified and email_key(user.email) == email_key(challenge.destination)
    ):
        raise EmailMismatch()
    return user, False


def sign_in_with_code(
    *,
    phone: str,
    code: str,
    invite_code: str = "",
    origin: Origin = NO_ORIGIN,
    issue_tokens: bool = False,
) -> SignedIn:
    """
    Sign in with a code: consume it, find or create the user, and apply an invite code (given
    now or at step 1); with `issue_tokens`, start the sign-in's API tokens too
    (`tokens_issue`). The invite's outcome is reported and never blocks the sign-in.

    A code that reached the phone proves it: the first such sign-in to an account whose phone
    was never proven ends every other session of that account (`user_phone_prove`).

    The code is consumed on its own, so that a used code stays used whatever follows; the
    rest (the account, its proofs and invite, `last_login`, the events, the tokens) is one
    transaction. When that fails, the code's event is stored all the same.
    """
    challenge = _challenge_consume(phone=phone, code=code, origin=origin)
    phone = challenge.phone  # in E.164, whatever form it was given in
    # The code is verified now; its event is stored with the sign-in's (one INSERT), or
    # before anything that records events of its own, so that the trail keeps their order.
    events = [audit_event(Kind.CODE_VERIFIED, phone=phone, origin=origin)]
    try:
        with transaction.atomic():
            signed_in = _sign_in(challenge, events, invite_code, origin, issue_tokens)
    except Exception:
        # Rolled back, events and all; the code stays used, and so its event is stored anew.
        audit_store([audit_event(Kind.CODE_VERIFIED, phone=phone, origin=origin)])
        raise
    if isinstance(signed_in, ApplicationError):
        raise signed_in
    logger.info("Signed in %s (new: %s)", _LoggedPhone(phone), signed_in.created)
    return signed_in


def _sign_in(
    challenge: Challenge,
    events: list[AuthEvent],
    invite_code: str,
    origin: Origin,
    issue_tokens: bool,
) -> SignedIn | ApplicationError:
    """
    `sign_in_with_code` once the code is consumed, inside its transaction. A refusal is
    returned, not raised, so that its event commits; `events` are stored before it ends.
    """
    phone = challenge.phone
    now = clock.now()
    user: User | None = None
    try:
        user, created = _account_for(challenge, signed_in_at=now)
        if not user.is_active:
            raise UserInactive()
        if challenge.channel != Channel.EMAIL:
            if not user.phone_verified:
                events = _stored(events)
            user = user_phone_prove(user=user, origin=origin)
    except ApplicationError as refusal:
        events.append(
            audit_event(
                Kind.SIGN_IN_REFUSED, user=user, phone=phone, origin=origin, outcome=refusal.code
            )
        )
        audit_store(events)
        return refusal

    raw_invite = invite_code or challenge.invite_code
    invite = None
    if raw_invite:
        events = _stored(events)
        invite = _invite_outcome(user, raw_invite, origin, sign_up=created)

    if not created:  # a new account was created signed in
        User.objects.filter(pk=user.pk).update(last_login=now)
        user.last_login = now
    outcome = "created" if created else "existing"
    events.append(
        audit_event(Kind.SIGNED_IN, user=user, phone=phone, origin=origin, outcome=outcome)
    )
    _sign_in_announce(user, created=created, channel=challenge.channel)
    audit_store(events)
    tokens = tokens_issue(user=user) if issue_tokens else None
    return SignedIn(user=user, created=created, invite=invite, tokens=tokens)


def _sign_in_announce(user: User, *, created: bool, channel: str) -> None:
    """
    Record `user.created` (with the invite code applied, if any) and `user.signed_in`; their
    data is built only for an endpoint that wants them.
    """
    represented = lru_cache(maxsize=1)(lambda: user_representation(user))
    events: list[tuple[str, Any]] = [
        (
            "user.signed_in",
            lambda: {"user": represented(), "channel": channel, "created": created},
        )
    ]
    if created:
        code = user.activated_invite_code
        events.insert(0, ("user.created", lambda: {"user": represented(), "invite_code": code}))
    events_record(events=events)


def _stored(events: list[AuthEvent]) -> list[AuthEvent]:
    audit_store(events)
    return []


def challenges_delivery_update(*, messages: list[Message]) -> None:
    """
    Follow the codes' messages: sent or delivered makes a challenge usable, failed makes it
    dead for good and gives the user back their quota. Runs in the transaction that stored the
    messages' status (in the request with the immediate task backend, in the worker
    otherwise), with the same few statements for one message or a worker's whole batch. The
    challenges are read after the messages were written and locked on PostgreSQL, so each
    change is recorded (and audited) once, whoever else follows the same message.
    """
    by_id = {message.pk: message for message in messages}
    followed = [
        (challenge, by_id[challenge.message_id])
        for challenge in Challenge.objects.select_for_update().filter(message_id__in=list(by_id))
        if challenge.message_id is not None
    ]
    usable = [
        (challenge, message)
        for challenge, message in followed
        if message.status != MessageStatus.FAILED
        and challenge.delivery_status == DeliveryStatus.PENDING
    ]
    if usable:
        Challenge.objects.filter(pk__in=[challenge.pk for challenge, _message in usable]).update(
            delivery_status=DeliveryStatus.SENT
        )
        audit_store(
            [
                audit_event(
                    Kind.CODE_SENT,
                    phone=challenge.phone,
                    origin=Origin(ip=challenge.ip, user_agent=challenge.user_agent),
                    outcome=challenge.channel,
                    detail={"provider": message.provider},
                )
                for challenge, message in usable
            ]
        )
    for challenge, message in followed:
        if message.status == MessageStatus.FAILED:
            _challenge_failed(challenge, message)


def _challenge_failed(challenge: Challenge, message: Message) -> None:
    updated = (
        Challenge.objects.filter(pk=challenge.pk)
        .exclude(delivery_status=DeliveryStatus.FAILED)
        .update(delivery_status=DeliveryStatus.FAILED)
    )
    if not updated:
        return
    email = challenge.destination if challenge.channel == Channel.EMAIL else ""
    policies.send_refund(phone=challenge.phone, ip=challenge.ip, email=email)
    last = message.attempt_log.order_by("-started_at", "-id").first()
    audit_record(
        Kind.CODE_SEND_FAILED,
        phone=challenge.phone,
        origin=Origin(ip=challenge.ip, user_agent=challenge.user_agent),
        outcome=last.outcome if last else "no_route",
        detail={"provider": message.provider, "error": message.error},
    )


# The conversion report (the API's `hours` and the admin page) reads challenges this far back;
# pruning never deletes what it may still count.
CONVERSION_LONGEST_REPORT = timedelta(hours=CONVERSION_MAX_HOURS)


def challenge_retention() -> timedelta:
    """
    How long challenges are kept: OTP_CHALLENGE_RETENTION_DAYS (default 31 days), and never
    less than the conversion report's longest window plus its partial current hour.
    """
    days = otp_settings.CHALLENGE_RETENTION_DAYS
    return max(timedelta(days=days), CONVERSION_LONGEST_REPORT + timedelta(hours=1))


def challenges_prune(*, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False) -> int:
    """
    Delete challenges created before the retention (`challenge_retention`) that have expired,
    in batches of `batch_size` keys; with `dry_run` only count them. A challenge that can
    still be verified is never deleted, whatever its age. Return how many.
    """
    now = clock.now()
    old = Challenge.objects.filter(created_at__lt=now - challenge_retention(), expires_at__lte=now)
    return delete_in_batches(old, batch_size=batch_size, dry_run=dry_run)
