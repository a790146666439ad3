"""
The referral insight API (docs/api.md, "Referral insight"): who may call it, every refused
query parameter, the answers against the rows they are made of, and the CSV exports streamed.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, assert_field_error, bulk_referrals, queries_for
from tests.conftest import new_phone
from vouch.accounts.models import User
from vouch.apikeys.services import api_key_create
from vouch.referrals import selectors
from vouch.referrals.models import (
    DownlineLevel,
    FlagReason,
    FunnelDay,
    InviteDay,
    Referral,
    ReferralFlag,
)
from vouch.referrals.selectors import Period, leaderboard

pytestmark = pytest.mark.django_db

LEADERBOARD = "/api/referrals/leaderboard/"
LEADERBOARD_CSV = "/api/referrals/leaderboard.csv"
FUNNEL = "/api/referrals/funnel/"
EXPORT = "/api/referrals/export.csv"
FLAGS = "/api/referrals/flags/"
_codes = itertools.count(1)


def _user(*, inviter: User | None = None, at: datetime | None = None, **fields) -> User:
    user = User.objects.create(
        phone=new_phone(),
        invite_code=f"X{next(_codes):05d}",
        invited_by=inviter,
        activated_invite_code=inviter.invite_code if inviter else None,
        invite_activated_at=at if inviter else None,
        **fields,
    )
    if inviter is not None:
        User.objects.filter(pk=inviter.pk).update(referrals_count=inviter.referrals.count())
    return user


def _today() -> date:
    return datetime.now(UTC).date()


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


@pytest.fixture
def staff_api(staff, client_for) -> APIClient:
    return client_for(staff)


@pytest.fixture
def keyed():
    def make(*scopes: str) -> APIClient:
        _api_key, raw = api_key_create(name="crm", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    return make


@pytest.fixture
def tree():
    """root > a > b, root > c; a activated today, the others earlier."""
    today = _today()
    root = _user()
    a = _user(inviter=root, at=_at(today, 1))
    b = _user(inviter=a, at=_at(today - timedelta(days=3)))
    c = _user(inviter=root, at=_at(today - timedelta(days=40)))
    for user_id, depth, members in [(root.pk, 1, 2), (root.pk, 2, 1), (a.pk, 1, 1)]:
        DownlineLevel.objects.create(user_id=user_id, depth=depth, members=members)
    Referral.objects.create(invitee=a, country="RU")
    flag = ReferralFlag.objects.create(
        invitee=a, reason=FlagReason.BURST, detail={"referrals": 12}, created_at=_at(today, 2)
    )
    return {"root": root, "a": a, "b": b, "c": c, "flag": flag}


def _get_paths(tree):
    root = tree["root"]
    return [
        LEADERBOARD,
        LEADERBOARD_CSV,
        FUNNEL,
        EXPORT,
        FLAGS,
        f"/api/users/{root.pk}/downline/",
        f"/api/users/{root.pk}/downline/members/",
    ]


# Who may call


def test_anonymous_callers_are_refused(api, tree):
    for path in _get_paths(tree):
        assert_error(api.get(path), 401, "not_authenticated")
    flag = tree["flag"]
    assert_error(api.post(f"{FLAGS}{flag.pk}/review/"), 401, "not_authenticated")


def test_users_who_are_not_staff_are_refused(tree, user, client_for):
    client = client_for(user)
    for path in _get_paths(tree):
        assert_error(client.get(path), 403, "permission_denied")
    assert_error(client.post(f"{FLAGS}{tree['flag'].pk}/review/"), 403, "permission_denied")


def test_staff_and_a_key_with_referrals_read_may_read(tree, staff_api, keyed):
    for client in (staff_api, keyed("referrals:read")):
        for path in _get_paths(tree):
            response = client.get(path)
            assert response.status_code == 200, (path, response.content)


def test_a_key_without_referrals_read_is_refused(tree, keyed):
    client = keyed("users:read", "users:write", "webhooks")
    for path in _get_paths(tree):
        assert_error(client.get(path), 403, "permission_denied")


def test_a_key_cannot_review_a_flag(tree, keyed):
    flag = tree["flag"]
    response = keyed("referrals:read", "users:write").post(f"{FLAGS}{flag.pk}/review/")
    assert_error(response, 403, "permission_denied")
    flag.refresh_from_db()
    assert flag.reviewed_at is None


@pytest.mark.parametrize(
    "path",
    [
        "/api/referrals/leaderboard",
        "/api/referrals/funnel",
        "/api/referrals/flags",
        "/api/users/{root}/downline",
        "/api/users/{root}/downline/members",
    ],
)
def test_paths_answer_without_their_trailing_slash(tree, staff_api, path):
    response = staff_api.get(path.format(root=tree["root"].pk))
    assert response.status_code == 200
    assert response.json() == staff_api.get(path.format(root=tree["root"].pk) + "/").json()


# Leaderboard


def test_leaderboard_of_a_period(tree, staff_api):
    root, a = tree["root"], tree["a"]
    InviteDay.objects.create(code=root.invite_code, day=_today(), visits=3)
    body = staff_api.get(LEADERBOARD, {"period": "week"}).json()
    assert body["period"] == {"from": str(_today() - timedelta(days=6)), "to": str(_today())}
    assert body["results"] == [
        {
            "user": {"id": root.pk, "phone": str(root.phone)},
            "referrals": 1,
            "downline": 3,
            "link_visits": 3,
            "conversion": 0.3333,
        },
        {
            "user": {"id": a.pk, "phone": str(a.phone)},
            "referrals": 1,
            "downline": 1,
            "link_visits": 0,
            "conversion": None,
        },
    ]


def test_leaderboard_by_dates_and_all_time(tree, staff_api):
    root = tree["root"]
    day = _today() - timedelta(days=40)
    body = staff_api.get(LEADERBOARD, {"from": str(day), "to": str(day)}).json()
    assert [(r["user"]["id"], r["referrals"]) for r in body["results"]] == [(root.pk, 1)]
    body = staff_api.get(LEADERBOARD, {"period": "all", "limit": "1"}).json()
    assert body["period"] == {"from": None, "to": None}
    assert [(r["user"]["id"], r["referrals"]) for r in body["results"]] == [(root.pk, 2)]
    assert staff_api.get(LEADERBOARD).json() == staff_api.get(LEADERBOARD, {"period": "all"}).json()
    assert staff_api.get(LEADERBOARD, {"period": "", "limit": ""}).status_code == 200


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (LEADERBOARD, {"period": "year"}, "period"),
        (LEADERBOARD, {"period": "week", "from": "2026-01-01"}, "period"),
        (LEADERBOARD, {"from": "2026-13-01"}, "from"),
        (LEADERBOARD, {"to": "yesterday"}, "to"),
        (LEADERBOARD, {"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        (LEADERBOARD, {"limit": "0"}, "limit"),
        (LEADERBOARD, {"limit": "101"}, "limit"),
        (LEADERBOARD, {"limit": "ten"}, "limit"),
        (LEADERBOARD, {"limit": "1.5"}, "limit"),
        (LEADERBOARD, {"limit": "99999999999999999999999"}, "limit"),
        (LEADERBOARD_CSV, {"period": "year"}, "period"),
        (LEADERBOARD_CSV, {"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        (EXPORT, {"from": "0"}, "from"),
        (EXPORT, {"period": "month", "to": "2026-01-01"}, "period"),
        (FUNNEL, {"country": "XX"}, "country"),
        (FUNNEL, {"country": "RUS"}, "country"),
        (FUNNEL, {"country": "1"}, "country"),
        (FUNNEL, {"period": "DAY"}, "period"),
        (FUNNEL, {"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        (FLAGS, {"status": "closed"}, "status"),
        (FLAGS, {"reason": "spam"}, "reason"),
        ("/api/users/{root}/downline/members/", {"depth": "0"}, "depth"),
        ("/api/users/{root}/downline/members/", {"depth": "-1"}, "depth"),
        ("/api/users/{root}/downline/members/", {"depth": "deep"}, "depth"),
        ("/api/users/{root}/downline/members/", {"depth": "10001"}, "depth"),
        ("/api/users/{root}/downline/members/", {"page_size": "0"}, "page_size"),
    ],
)
def test_bad_query_parameters_are_a_400_on_their_field(tree, staff_api, path, query, field):
    response = staff_api.get(path.format(root=tree["root"].pk), query)
    assert_field_error(response, field)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", [FLAGS, "/api/users/{root}/downline/members/"])
def test_a_forged_cursor_is_refused(tree, staff_api, path):
    import base64

    forged = base64.b64encode(b"p=not-a-date&o=0").decode()
    response = staff_api.get(path.format(root=tree["root"].pk), {"cursor": forged})
    assert_error(response, 404, "not_found")


# Funnel


def test_funnel_with_days(staff_api):
    today = _today()
    FunnelDay.objects.create(day=today, country="", visits=10, codes_requested=1)
    FunnelDay.objects.create(day=today, country="RU", codes_requested=4, sign_ups=2, activations=3)
    FunnelDay.objects.create(day=today - timedelta(days=2), country="RU", activations=1)
    FunnelDay.objects.create(day=today - timedelta(days=9), country="KZ", activations=7)
    body = staff_api.get(FUNNEL, {"period": "week"}).json()
    assert body["period"] == {"from": str(today - timedelta(days=6)), "to": str(today)}
    assert body["country"] is None
    assert {k: body[k] for k in ("link_visits", "codes_requested_with_invite")} == {
        "link_visits": 10,
        "codes_requested_with_invite": 5,
    }
    assert (body["sign_ups_with_invite"], body["activations"]) == (2, 4)
    assert body["conversion"] == {
        "visit_to_request": 0.5,
        "request_to_sign_up": 0.4,
        "sign_up_to_activation": 2.0,
        "visit_to_activation": 0.4,
    }
    assert [d["day"] for d in body["days"]] == [
        str(today - timedelta(days=n)) for n in range(6, -1, -1)
    ]
    assert body["days"][-3]["activations"] == 1
    assert body["days"][-1]["link_visits"] == 10
    ru = staff_api.get(FUNNEL, {"period": "week", "country": "ru"}).json()
    assert ru["country"] == "RU"
    assert (ru["link_visits"], ru["activations"]) == (None, 4)
    assert ru["conversion"]["visit_to_request"] is None
    assert all(d["link_visits"] is None for d in ru["days"])


# Downline


def test_downline_of_a_user(tree, staff_api):
    root, a, b = tree["root"], tree["a"], tree["b"]
    assert staff_api.get(f"/api/users/{b.pk}/downline/").json() == {
        "inviter_chain": [
            {"id": a.pk, "phone": str(a.phone)},
            {"id": root.pk, "phone": str(root.phone)},
        ],
        "levels": [],
        "total": 0,
    }
    assert staff_api.get(f"/api/users/{root.pk}/downline/").json() == {
        "inviter_chain": [],
        "levels": [{"depth": 1, "count": 2}, {"depth": 2, "count": 1}],
        "total": 3,
    }


@pytest.mark.parametrize("pk", [10**9, 2**63, 10**30])
def test_downline_of_an_unknown_user_is_a_404(staff_api, pk):
    assert_error(staff_api.get(f"/api/users/{pk}/downline/"), 404, "not_found")
    assert_error(staff_api.get(f"/api/users/{pk}/downline/members/"), 404, "not_found")


def test_downline_members_by_depth_page_by_page(tree, staff_api):
    root = tree["root"]
    start = _at(_today() - timedelta(days=1))
    grandchildren = [
        _user(inviter=tree["c"], at=start + timedelta(minutes=n % 3)) for n in range(5)
    ]
    expected = sorted(
        [tree["b"], *grandchildren], key=lambda u: (u.invite_activated_at, u.pk), reverse=True
    )
    seen, url = [], f"/api/users/{root.pk}/downline/members/?depth=2&page_size=2"
    while url:
        body = staff_api.get(url).json()
        seen += body["results"]
        url = body["next"]
    assert [m["id"] for m in seen] == [u.pk for u in expected]
    first = next(m for m in seen if m["id"] == tree["b"].pk)
    assert first == {
        "id": tree["b"].pk,
        "phone": str(tree["b"].phone),
        "invited_by": tree["a"].pk,
        "activated_at": tree["b"].invite_activated_at.isoformat().replace("+00:00", "Z"),
        "referrals_count": 0,
    }
    direct = staff_api.get(f"/api/users/{root.pk}/downline/members/").json()["results"]
    assert [m["id"] for m in direct] == [tree["a"].pk, tree["c"].pk]
    deep = staff_api.get(f"/api/users/{root.pk}/downline/members/", {"depth": "9"}).json()
    assert deep["results"] == []


# Flags


def test_flags_list_and_review(tree, staff, staff_api):
    flag, a, root = tree["flag"], tree["a"], tree["root"]
    body = staff_api.get(FLAGS).json()
    assert body["results"] == [
        {
            "id": flag.pk,
            "reason": "burst",
            "detail": {"referrals": 12},
            "created_at": flag.created_at.isoformat().replace("+00:00", "Z"),
            "reviewed_at": None,
            "reviewed_by": None,
            "invitee": {"id": a.pk, "phone": str(a.phone)},
            "inviter": {"id": root.pk, "phone": str(root.phone)},
        }
    ]
    reviewed = staff_api.post(f"{FLAGS}{flag.pk}/review/")
    assert reviewed.status_code == 200
    assert reviewed.json()["reviewed_by"] == staff.pk
    assert reviewed.json()["reviewed_at"] is not None
    assert staff_api.get(FLAGS).json()["results"] == []
    assert [f["id"] for f in staff_api.get(FLAGS, {"status": "reviewed"}).json()["results"]] == [
        flag.pk
    ]
    assert staff_api.get(FLAGS, {"status": "all", "reason": "same_network"}).json()["results"] == []


def test_a_second_review_keeps_the_first(tree, staff_api, make_user, client_for):
    flag = tree["flag"]
    first = staff_api.post(f"{FLAGS}{flag.pk}/review/").json()
    other = client_for(make_user(is_staff=True))
    again = other.post(f"{FLAGS}{flag.pk}/review/")
    assert again.status_code == 200
    assert again.json() == first


@pytest.mark.parametrize("pk", [10**9, 2**63])
def test_reviewing_an_unknown_flag_is_a_404(staff_api, pk):
    assert_error(staff_api.post(f"{FLAGS}{pk}/review/"), 404, "not_found")


def test_review_by_session_needs_the_csrf_token(tree, staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(f"{FLAGS}{tree['flag'].pk}/review/")
    assert_error(response, 403, "permission_denied")
    tree["flag"].refresh_from_db()
    assert tree["flag"].reviewed_at is None


def test_the_flag_list_pages_newest_first(tree, staff_api):
    today = _today()
    invitees = [_user(inviter=tree["root"], at=_at(today)) for _ in range(5)]
    made = [
        ReferralFlag.objects.create(
            invitee=u, reason=FlagReason.SAME_NETWORK, created_at=_at(today, 3 + n % 2)
        )
        for n, u in enumerate(invitees)
    ]
    expected = sorted([*made, tree["flag"]], key=lambda f: (f.created_at, f.pk), reverse=True)
    seen, url = [], f"{FLAGS}?page_size=2"
    while url:
        body = staff_api.get(url).json()
        seen += [f["id"] for f in body["results"]]
        url = body["next"]
    assert seen == [f.pk for f in expected]


# CSV


def _rows(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_referrals_export_streams_the_rows_of_the_period(tree, staff_api, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 1)
    response = staff_api.get(EXPORT, {"period": "week"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = _today()
    week_start = today - timedelta(days=6)
    assert response["Content-Disposition"] == (
        f'attachment; filename="referrals-{week_start}-{today}.csv"'
    )
    a, b, root = tree["a"], tree["b"], tree["root"]
    assert _rows(response) == [
        [
            "inviter_id",
            "inviter_phone",
            "invitee_id",
            "invitee_phone",
            "invite_code",
            "activated_at",
            "country",
            "flags",
        ],
        [
            str(a.pk),
            str(a.phone),
            str(b.pk),
            str(b.phone),
            a.invite_code,
            b.invite_activated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "",
            "",
        ],
        [
            str(root.pk),
            str(root.phone),
            str(a.pk),
            str(a.phone),
            root.invite_code,
            a.invite_activated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RU",
            "burst",
        ],
    ]


def test_export_of_all_time_names_its_file_so(tree, keyed):
    response = keyed("referrals:read").get(EXPORT, {"period": "all"})
    assert response["Content-Disposition"] == 'attachment; filename="referrals-all-all.csv"'
    assert len(_rows(response)) == 1 + 3


def test_export_is_not_read_before_it_is_streamed(tree, staff_api):
    with CaptureQueriesContext(connection) as captured:
        response = staff_api.get(EXPORT)
    assert response.streaming
    assert not any("referrals_referral" in q["sql"] for q in captured.captured_queries)
    assert len(_rows(response)) == 4


def test_leaderboard_csv(tree, staff_api):
    response = staff_api.get(LEADERBOARD_CSV, {"from": str(_today() - timedelta(days=40))})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="leaderboard-{_today() - timedelta(days=40)}-all.csv"'
    )
    period = Period(date_from=_today() - timedelta(days=40))
    expected = [
        [
            str(x.user_id),
            x.phone,
            str(x.referrals),
            str(x.downline),
            str(x.link_visits),
            "" if x.conversion is None else str(x.conversion),
        ]
        for x in leaderboard(period=period, limit=100)
    ]
    rows = _rows(response)
    assert rows[0] == ["user_id", "phone", "referrals", "downline", "link_visits", "conversion"]
    assert rows[1:] == expected
    assert [r[0] for r in rows[1:]] == [str(tree["root"].pk), str(tree["a"].pk)]


def test_csv_errors_are_json_whatever_the_accept_header(tree, staff_api):
    response = staff_api.get(EXPORT, {"period": "year"}, HTTP_ACCEPT="text/csv")
    assert_field_error(response, "period")
    assert response["Content-Type"].startswith("application/json")


# Schema


def test_schema_documents_the_referral_insight(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/referrals/leaderboard/",
        "/api/referrals/leaderboard.csv",
        "/api/referrals/funnel/",
        "/api/referrals/export.csv",
        "/api/referrals/flags/",
        "/api/referrals/flags/{id}/review/",
        "/api/users/{id}/downline/",
        "/api/users/{id}/downline/members/",
    ):
        assert path in paths, path
    assert "/api/referrals/leaderboard" not in paths
    export = paths["/api/referrals/export.csv"]["get"]
    assert list(export["responses"]["200"]["content"]) == ["text/csv"]
    assert {p["name"] for p in export["parameters"]} == {"period", "from", "to"}
    assert {"apiKeyAuth": []} in export["security"]
    assert export["x-api-key-scopes"] == ["referrals:read"]
    review = paths["/api/referrals/flags/{id}/review/"]["post"]
    assert all("apiKeyAuth" not in s for s in review["security"])
    members = paths["/api/users/{id}/downline/members/"]["get"]
    assert {"depth", "cursor", "page_size"} <= {p["name"] for p in members["parameters"]}
    funnel_params = {p["name"] for p in paths["/api/referrals/funnel/"]["get"]["parameters"]}
    assert funnel_params == {"period", "from", "to", "country"}


@pytest.mark.django_db(transaction=True)
def test_export_streams_outside_a_transaction_in_chunks(staff, client_for, monkeypatch):
    """As served: no transaction around the request, the cursor opens one of its own."""
    monkeypatch.setattr(selectors, "CSV_CHUNK_SIZE", 2)
    inviter = _user()
    invitees = [_user(inviter=inviter, at=_at(_today(), hour)) for hour in range(5)]
    response = client_for(staff).get(EXPORT, {"period": "day"})
    rows = _rows(response)
    assert [int(r[2]) for r in rows[1:]] == [u.pk for u in invitees]
    assert connection.get_autocommit()


def test_a_refusal_speaks_the_callers_language(staff_api):
    response = staff_api.get(FUNNEL, {"country": "XX"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.json() == {"country": ["Введите двухбуквенный код страны (ISO 3166)."]}
    response = staff_api.get(
        LEADERBOARD, {"period": "day", "to": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.json()["period"][0].startswith("Укажите либо period")


@pytest.mark.parametrize("path", [LEADERBOARD, LEADERBOARD_CSV, FUNNEL, EXPORT])
@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "9999-12-31"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31", "to": "9999-12-31"},
    ],
)
def test_the_widest_dates_answer(tree, staff_api, path, query):
    response = staff_api.get(path, query)
    assert response.status_code == 200
    if response.streaming:
        assert _rows(response)[0]


def test_the_funnel_of_the_widest_period_lists_at_most_3660_days(staff_api):
    FunnelDay.objects.create(day=_today(), country="RU", activations=1)
    body = staff_api.get(FUNNEL, {"from": "0001-01-01", "to": "9999-12-31"}).json()
    assert len(body["days"]) == selectors.FUNNEL_DAYS_MAX
    assert body["days"][-1]["day"] == "9999-12-31"
    assert body["activations"] == 1


def _insight_paths(user_id: int) -> list[str]:
    return [
        f"{LEADERBOARD}?period=week",
        f"{LEADERBOARD}?period=all",
        f"{FUNNEL}?period=week",
        f"{FLAGS}?status=all",
        f"/api/users/{user_id}/downline/",
        f"/api/users/{user_id}/downline/members/",
        f"/api/users/{user_id}/downline/members/?depth=2",
    ]


def test_each_answer_costs_the_same_for_0_and_60_referrals(staff_api):
    empty, busy = _user(), _user()
    referrals = bulk_referrals(busy, 60)
    ReferralFlag.objects.bulk_create(
        ReferralFlag(invitee=u, reason=FlagReason.BURST, created_at=_at(_today()))
        for u in referrals[:30]
    )
    DownlineLevel.objects.create(user=busy, depth=1, members=60)
    busy_costs = [queries_for(staff_api, path) for path in _insight_paths(busy.pk)]
    ReferralFlag.objects.all().delete()
    User.objects.filter(invited_by=busy).delete()
    empty_costs = [queries_for(staff_api, path) for path in _insight_paths(empty.pk)]
    # the staff user's token: 1; then the report (the downline: the user, chain, levels)
    assert busy_costs == empty_costs == [2, 2, 3, 2, 4, 3, 3]
