"""
In-process helper for bench/run.py, run as a child with the environment of one of the two
servers: `helper.py vouch ...` loads Vouch's settings, `helper.py floor ...` the floor's.

  seed-challenges BASE COUNT CODE   live challenges with a known code for phones BASE..+COUNT
  seed-old COUNT                    COUNT expired, consumed challenges of unrelated phones
  seed-users COUNT                  (floor only) COUNT plain users
  token PHONE [staff]               an access token for PHONE (created if missing)
  inviter ID                        access token of user ID, and their referrals
  activation-tokens COUNT FILE      COUNT fresh users' tokens into FILE; prints an invite code
  top-inviter                       the user with most referrals: {"id", "referrals"}
  staff-session PHONE               a signed-in session of staff user PHONE (created if missing):
                                    the Cookie header's value
  api-key SCOPE                     a new API key with SCOPE, in clear
  probe SCENARIO [ARG]              SQL statements of one request (CaptureQueriesContext);
                                    `probe header PATH NAME VALUE`: a GET with that header
  quick [immediate]                 `probe` for every scenario of `run.py --quick`, as JSON
                                    (with `immediate`: step 1 only, for TASKS_BACKEND=immediate)
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = sys.argv[1]
if PROJECT == "floor":
    sys.path.insert(0, str(ROOT / "bench" / "floor"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
else:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

PROBE_TIMEOUT_MS = 60_000


def phone(n: int, prefix: str = "+7999") -> str:
    return f"{prefix}{n:07d}"


def seed_challenges(base: int, count: int, code: str, prefix: str = "+7999") -> None:
    now = timezone.now()
    if PROJECT == "floor":
        from floor.models import Challenge
        from floor.views import code_hash

        rows = [
            Challenge(
                phone=phone(n, prefix),
                code_hash=code_hash(phone(n, prefix), code),
                expires_at=now + timedelta(seconds=300),
            )
            for n in range(base, base + count)
        ]
    else:
        from django.conf import settings

        from vouch.otp.hashing import code_hash, salt_generate
        from vouch.otp.models import Challenge, Channel, DeliveryStatus

        rows = []
        for n in range(base, base + count):
            salt = salt_generate()
            rows.append(
                Challenge(
                    phone=phone(n, prefix),
                    region="RU",
                    channel=Channel.SMS,
                    destination=phone(n, prefix),
                    code_hash=code_hash(code=code, salt=salt, phone=phone(n, prefix)),
                    salt=salt,
                    created_at=now,
                    expires_at=now + timedelta(seconds=settings.OTP_TTL),
                    ip="127.0.0.1",
                    delivery_status=DeliveryStatus.SENT,
                )
            )
    type(rows[0]).objects.bulk_create(rows, batch_size=5000)


def seed_old(count: int) -> None:
    """Old challenges (a day old, expired, consumed) of phones the load never uses."""
    then = timezone.now() - timedelta(days=1)
    if PROJECT == "floor":
        from floor.models import Challenge

        rows = [
            Challenge(phone=f"+7998{n:07d}", code_hash="0" * 64, expires_at=then, consumed_at=then)
            for n in range(count)
        ]
        Challenge.objects.bulk_create(rows, batch_size=5000)
        Challenge.objects.filter(phone__startswith="+7998").update(created_at=then)
    else:
        from vouch.otp.models import Challenge, Channel, DeliveryStatus

        rows = [
            Challenge(
                phone=f"+7998{n:07d}",
                region="RU",
                channel=Channel.SMS,
                destination=f"+7998{n:07d}",
                code_hash="0" * 64,
                salt="0" * 32,
                created_at=then,
                expires_at=then + timedelta(seconds=300),
                consumed_at=then,
                attempts=1,
                ip="127.0.0.1",
                delivery_status=DeliveryStatus.SENT,
            )
            for n in range(count)
        ]
        Challenge.objects.bulk_create(rows, batch_size=5000)


def seed_floor_users(count: int) -> None:
    from floor.models import User

    User.objects.bulk_create([User(phone=f"+7997{n:07d}") for n in range(count)], batch_size=5000)


def access_token(user) -> str:
    from vouch.accounts.tokens import AccessToken

    return str(AccessToken.for_user(user))


def token(phone_: str, staff: bool) -> str:
    from vouch.accounts.models import User
    from vouch.accounts.services import user_create

    user = User.objects.filter(phone=phone_).first() or user_create(phone=phone_, is_staff=staff)
    return access_token(user)


def inviter(pk: int) -> None:
    from vouch.accounts.models import User

    user = User.objects.get(pk=pk)
    real = user.referrals.count()
    print(json.dumps({"token": access_token(user), "referrals": real, "id": user.pk}))


def activation_tokens(count: int, path: str) -> None:
    """Fresh users (none has activated a code) and one inviter whose code they will enter."""
    from vouch.accounts.models import User
    from vouch.accounts.services import user_create

    inviter = user_create(phone="+79960000000")
    start = User.objects.count()
    users = [
        User(phone=f"+7995{n:07d}", invite_code=f"Z{(start + n):05X}"[-6:]) for n in range(count)
    ]
    User.objects.bulk_create(users, batch_size=5000)
    fresh = User.objects.filter(phone__startswith="+7995").order_by("id")
    Path(path).write_text("".join(access_token(u) + "\n" for u in fresh))
    print(inviter.invite_code)


def top_inviter() -> None:
    from vouch.accounts.models import User

    top = User.objects.order_by("-referrals_count", "id").values("id", "referrals_count").first()
    if top is None or not top["referrals_count"]:
        sys.exit("no user has referrals")
    print(json.dumps({"id": top["id"], "referrals": top["referrals_count"]}))


def staff_session(phone_: str) -> None:
    """Sign a staff user in the way the login view ends (django.contrib.auth.login)."""
    from django.conf import settings

    from vouch.accounts.models import User
    from vouch.accounts.services import user_create

    user = User.objects.filter(phone=phone_).first() or user_create(phone=phone_, is_staff=True)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    print(f"{name}={client.cookies[name].value}")


def api_key(scope: str) -> None:
    from vouch.apikeys.services import api_key_create

    _key, raw = api_key_create(name=f"bench {scope}", scopes=[scope])
    print(raw)


def probe(scenario: str, arg: str, n: int | None = None) -> dict:
    """
    One request in-process; its status and statements. The phone is +7994 and N (default the
    pid): outside the load's ranges and seed_users' (+7999).
    """
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1")
    post = {"content_type": "application/json"}
    n = os.getpid() if n is None else n
    if scenario == "verify":
        seed_challenges(n, 1, "123456", "+7994")
    if connection.vendor == "postgresql":  # a statement that never ends fails the probe instead
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {PROBE_TIMEOUT_MS}")
    with CaptureQueriesContext(connection) as ctx:
        if PROJECT == "floor":
            path = "/request" if scenario == "request" else "/verify"
            body = {
                "phone": phone(n, "+7994"),
                **({"code": "123456"} if scenario == "verify" else {}),
            }
            response = client.post(path, json.dumps(body), **post)
        elif scenario in ("request", "verify"):
            body = {
                "phone": phone(n, "+7994"),
                **({"code": "123456"} if scenario == "verify" else {}),
            }
            response = client.post("/api/users/authenticate/", json.dumps(body), **post)
        elif scenario == "activation":
            tok, code = arg.split(" ")
            response = client.post(
                "/api/users/profile/activate_invite_code/",
                json.dumps({"invite_code": code}),
                HTTP_AUTHORIZATION=f"Bearer {tok}",
                **post,
            )
        elif scenario == "header":
            path, name, value = arg.split(" ", 2)
            response = client.get(path, headers={name: value})
        else:
            response = client.get(
                arg.split(" ")[0], HTTP_AUTHORIZATION=f"Bearer {arg.split(' ')[1]}"
            )
    return {"status": response.status_code, "queries": len(ctx.captured_queries)}


def quick(mode: str) -> dict[str, dict]:
    """Every scenario `run.py --quick` checks, each request made once (names as in the table)."""
    base = os.getpid() % 1_000_000 * 10  # seven digits, a different phone for every probe
    if mode == "immediate":
        return {"request code, immediate": probe("request", "", base)}
    from django.core.management import call_command

    from vouch.accounts.models import User
    from vouch.accounts.services import user_create

    found = {
        "request code, empty tables": probe("request", "", base),
        "verify, first sign-in": probe("verify", "", base + 1),
    }
    profile = "/api/users/profile/"
    found["profile, 0 referrals"] = probe("profile", f"{profile} {token('+79970000001', False)}")
    staff = token("+79970000002", True)
    found["staff users list, first page"] = probe("users", f"/api/users/ {staff}")
    inviter = user_create(phone="+79960000000")
    fresh = user_create(phone="+79950000000")
    found["activate invite code"] = probe(
        "activation", f"{access_token(fresh)} {inviter.invite_code}"
    )
    # More referrals than one page (20) holds: the page is read, never the whole list.
    out = io.StringIO()
    call_command(
        "seed_users", "--force", "--referrals-of-one", "25", "--phone-offset", "9000000", stdout=out
    )
    found_id = re.search(r"Inviter: id=(\d+)", out.getvalue())
    if not found_id:
        raise SystemExit(f"seed_users named no inviter:\n{out.getvalue()}")
    top = User.objects.get(pk=int(found_id.group(1)))
    label = f"profile, {top.referrals.count()} referrals"
    found[label] = probe("profile", f"{profile} {access_token(top)}")
    # The referral reports on a small programme: their statements do not grow with the data.
    out = io.StringIO()
    call_command(
        "seed_users", "--force", "--tree", "--users", "300", "--referrals-of-one", "40",
        "--seed", "1", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    found_id = re.search(r"Inviter: id=(\d+)", out.getvalue())
    if not found_id:
        raise SystemExit(f"seed_users named no inviter:\n{out.getvalue()}")
    inviter_id = int(found_id.group(1))
    reports = {
        "referral leaderboard, month": "/api/referrals/leaderboard/?period=month",
        "referral leaderboard, all time": "/api/referrals/leaderboard/?period=all",
        "referral funnel, month": "/api/referrals/funnel/?period=month",
        "referral downline": f"/api/users/{inviter_id}/downline/",
        "referral downline members, depth 2": (
            f"/api/users/{inviter_id}/downline/members/?depth=2"
        ),
        "referral flags": "/api/referrals/flags/",
    }
    for label, path in reports.items():
        found[label] = probe("header", f"{path} Authorization Bearer {staff}")
    return found


cmd, args = sys.argv[2], sys.argv[3:]
if cmd == "seed-challenges":
    seed_challenges(int(args[0]), int(args[1]), args[2])
elif cmd == "seed-old":
    seed_old(int(args[0]))
elif cmd == "seed-users":
    seed_floor_users(int(args[0]))
elif cmd == "token":
    print(token(args[0], len(args) > 1 and args[1] == "staff"))
elif cmd == "inviter":
    inviter(int(args[0]))
elif cmd == "activation-tokens":
    activation_tokens(int(args[0]), args[1])
elif cmd == "top-inviter":
    top_inviter()
elif cmd == "staff-session":
    staff_session(args[0])
elif cmd == "api-key":
    api_key(args[0])
elif cmd == "probe":
    print(json.dumps(probe(args[0], " ".join(args[1:]))))
elif cmd == "quick":
    print(json.dumps(quick(args[0] if args else "")))
else:
    sys.exit(f"unknown command {cmd}")
