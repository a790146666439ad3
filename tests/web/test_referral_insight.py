"""
The staff pages of referral insight (vouch.web.views.insight) through the Django test client:
who may see them, that each page shows the figures of the rows it reads, how the period, the
country, the depth and the page links are read (and refused), the review button, the Russian
pages and the CSV exports.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from tests.helpers import page_sign_in
from vouch.accounts.models import User
from vouch.core import clock as clock_module
from vouch.referrals.models import DownlineLevel, FlagReason, FunnelDay, InviteDay, ReferralFlag

pytestmark = pytest.mark.django_db

PAGES = [
    "/staff/referrals/",
    "/staff/referrals/funnel/",
    "/staff/referrals/flags/",
    "/staff/referrals/export.csv",
    "/staff/referrals/leaderboard.csv",
]
RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}
NBSP = "\xa0"


def today() -> date:
    return clock_module.now().astimezone(UTC).date()


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def text(response: Any) -> str:
    """The page's visible words, tags dropped, entities read, spaces squeezed."""
    page = response.content.decode()
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def table(response: Any, table_id: str) -> list[list[str]]:
    """
    The rows of the body of the table `table_id`, each a list of its cells' text (with its
    non-breaking spaces: the digit groups of Russian numbers).
    """
    page = response.content.decode()
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, f"no table #{table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [
        [
            re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", "", cell))).strip(" ")
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def refer(inviter: User, invitee: User, when: datetime) -> None:
    """Make `invitee` a referral of `inviter` at `when`, as the activation leaves the rows."""
    User.objects.filter(pk=invitee.pk).update(
        invited_by=inviter, invite_activated_at=when, activated_invite_code=inviter.invite_code
    )
    User.objects.filter(pk=inviter.pk).update(referrals_count=inviter.referrals.count())


@pytest.fixture
def staff_client(client: Client, staff: User) -> Client:
    client.force_login(staff)
    return client


@pytest.fixture
def tree(make_user: Any) -> dict[str, User]:
    """
    root → alice → (bob, carol); bob → dave. Alice's referrals came 1 and 2 days ago, dave 40
    days ago; alice's link had 8 visits this month and 4 long ago.
    """
    users = {name: make_user() for name in ("root", "alice", "bob", "carol", "dave")}
    now = today()
    refer(users["root"], users["alice"], at(now - timedelta(days=100)))
    refer(users["alice"], users["bob"], at(now - timedelta(days=2)))
    refer(users["alice"], users["carol"], at(now - timedelta(days=1)))
    refer(users["bob"], users["dave"], at(now - timedelta(days=40)))
    for name, levels in {
        "root": [(1, 1), (2, 2), (3, 1)],
        "alice": [(1, 2), (2, 1)],
        "bob": [(1, 1)],
    }.items():
        for depth, members in levels:
            DownlineLevel.objects.create(user=users[name], depth=depth, members=members)
    code = users["alice"].invite_code
    InviteDay.objects.create(code=code, day=now - timedelta(days=2), visits=5)
    InviteDay.objects.create(code=code, day=now - timedelta(days=1), visits=3)
    InviteDay.objects.create(code=code, day=now - timedelta(days=200), visits=4)
    for user in users.values():
        user.refresh_from_db()
    return users


# --- who may see them -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [*PAGES, "/staff/referrals/users/1/"])
def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client, url):
    response = client.get(url + "?period=week")
    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")
    assert "staff/referrals" in unescape(response.url)


@pytest.mark.parametrize("url", [*PAGES, "/staff/referrals/users/1/"])
def test_a_member_who_is_not_staff_gets_the_403_page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 403
    assert "Access denied" in text(response)
    assert "<table" not in response.content.decode()


def test_only_the_staff_pages_load_their_style_sheet(client, staff):
    assert "web/insight.css" not in client.get("/login/").content.decode()
    client.force_login(staff)
    assert "web/insight.css" not in client.get("/profile/").content.decode()
    assert "web/insight.css" in client.get("/staff/referrals/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/staff/referrals/?period=all",
        "/staff/referrals/funnel/?period=week",
        "/staff/referrals/flags/?status=all",
    ],
)
def test_the_pages_need_no_inline_script_or_style(staff_client, tree, funnel_days, flags, url):
    response = staff_client.get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page
    assert response["Cache-Control"].startswith("max-age=0, no-cache, no-store")


def test_signing_in_from_the_redirect_leads_back_to_the_page(client, staff):
    sent = client.get("/staff/referrals/flags/?status=all")
    assert client.get(sent.url).status_code == 200  # /login/?next=...
    answer = page_sign_in(client, str(staff.phone))
    assert answer.status_code == 302
    assert answer.url == "/staff/referrals/flags/?status=all"
    assert client.get(answer.url).status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_a_next_elsewhere_is_ignored(client, staff, target):
    client.get("/login/", {"next": target})
    assert page_sign_in(client, str(staff.phone)).url == "/profile/"


def test_only_staff_see_the_link_to_the_pages_in_the_header(client, user, staff):
    client.force_login(user)
    assert "/staff/referrals/" not in client.get("/profile/").content.decode()
    client.force_login(staff)
    header = client.get("/profile/").content.decode().split("</header>")[0]
    assert 'href="/staff/referrals/"' in header


# --- the leaderboard ----------------------------------------------------------------------------


def test_the_leaderboard_shows_the_figures_of_the_rows(staff_client, tree):
    response = staff_client.get("/staff/referrals/?period=month")
    assert response.status_code == 200
    rows = table(response, "leaderboard")
    alice, bob = tree["alice"], tree["bob"]
    # Alice: 2 referrals this month, 3 below her, 8 visits: 25%. Dave joined bob 40 days ago.
    assert rows == [["1", _phone(alice), "2", "3", "8", "25.00%"]]
    assert f'href="/staff/referrals/users/{alice.pk}/"' in response.content.decode()
    assert str(bob.pk) not in [row[0] for row in rows]


def test_all_time_counts_every_referral_and_a_rate_without_visits_is_a_dash(staff_client, tree):
    rows = table(staff_client.get("/staff/referrals/?period=all"), "leaderboard")
    by_phone = {row[1]: row for row in rows}
    assert by_phone[_phone(tree["alice"])][2:] == ["2", "3", "12", "16.67%"]
    assert by_phone[_phone(tree["root"])][2:] == ["1", "4", "0", "—"]
    assert by_phone[_phone(tree["bob"])][2:] == ["1", "1", "0", "—"]
    assert [row[0] for row in rows] == ["1", "2", "3"]


def test_dates_choose_the_period_and_win_over_a_preset(staff_client, tree):
    day = today() - timedelta(days=1)
    response = staff_client.get(f"/staff/referrals/?period=all&from={day}&to={day}")
    assert [row[2] for row in table(response, "leaderboard")] == ["1"]
    page = response.content.decode()
    assert f'href="/staff/referrals/export.csv?from={day}&amp;to={day}"' in page
    assert f'href="/staff/referrals/leaderboard.csv?from={day}&amp;to={day}"' in page
    assert 'aria-current="true"' not in page.split('class="presets"')[1].split("</nav>")[0]


def test_an_open_end_is_allowed(staff_client, tree):
    since = today() - timedelta(days=50)
    response = staff_client.get(f"/staff/referrals/?from={since}")
    by_phone = {row[1]: row for row in table(response, "leaderboard")}
    assert by_phone[_phone(tree["alice"])][2] == "2"
    assert by_phone[_phone(tree["bob"])][2] == "1"


def test_the_preset_links_keep_their_period_and_mark_the_current_one(staff_client, tree):
    page = staff_client.get("/staff/referrals/?period=week").content.decode()
    presets = page.split('class="presets"')[1].split("</nav>")[0]
    assert re.search(r'href="/staff/referrals/\?period=week" aria-current="true"', presets)
    for preset in ("day", "month", "all"):
        assert f'href="/staff/referrals/?period={preset}"' in presets
    assert 'href="/staff/referrals/export.csv?period=week"' in page


@pytest.mark.parametrize(
    "url",
    ["/staff/referrals/", "/staff/referrals/export.csv", "/staff/referrals/leaderboard.csv"],
)
def test_the_widest_dates_there_are_work(staff_client, tree, url):
    response = staff_client.get(f"{url}?from=0001-01-01&to=9999-12-31")
    assert response.status_code == 200
    if isinstance(response, StreamingHttpResponse):
        assert len(b"".join(response.streaming_content).splitlines()) > 1


def test_the_default_period_is_the_last_30_days(staff_client, tree):
    page = staff_client.get("/staff/referrals/").content.decode()
    assert 'href="/staff/referrals/export.csv?period=month"' in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-13-01", "from", "Enter a valid date."),
        ("to=yesterday", "to", "Enter a valid date."),
        ("from=2026-05-02&to=2026-05-01", "to", "The end date is before the start date."),
        ("period=year", "period", "Select a valid choice."),
        ("from=99999-01-01", "from", "Enter a valid date."),
    ],
)
def test_a_bad_period_shows_the_form_error_not_a_failure(staff_client, tree, query, field, message):
    response = staff_client.get(f"/staff/referrals/?{query}")
    assert response.status_code == 200
    said = text(response)
    assert message in said
    assert "There is a problem" in said
    assert "<table" not in response.content.decode()
    assert 'name="from"' in response.content.decode()  # the form is there to correct it


# --- the funnel ---------------------------------------------------------------------------------


@pytest.fixture
def funnel_days() -> date:
    """Two days of funnel: yesterday in RU and KZ (and visits under ""), today RU only."""
    now = today()
    yesterday = now - timedelta(days=1)
    FunnelDay.objects.create(day=yesterday, country="", visits=40)
    FunnelDay.objects.create(
        day=yesterday, country="RU", codes_requested=10, sign_ups=6, activations=5
    )
    FunnelDay.objects.create(
        day=yesterday, country="KZ", codes_requested=2, sign_ups=1, activations=1
    )
    FunnelDay.objects.create(day=now, country="", visits=1960)
    FunnelDay.objects.create(day=now, country="RU", codes_requested=8, sign_ups=3, activations=4)
    FunnelDay.objects.create(day=now - timedelta(days=90), country="RU", activations=99)
    return yesterday


def test_the_funnel_shows_the_four_figures_and_the_rates(staff_client, funnel_days):
    response = staff_client.get("/staff/referrals/funnel/?period=week")
    assert response.status_code == 200
    assert table(response, "funnel") == [
        ["Link visits", "2,000", "—"],
        ["Codes requested with an invite", "20", "1.00%"],
        ["Sign-ups with an invite", "10", "50.00%"],
        ["Activations", "10", "100.00%"],
    ]
    assert "From link visit to activation: 0.50%." in text(response)


def test_the_funnel_per_day_and_per_country(staff_client, funnel_days):
    response = staff_client.get("/staff/referrals/funnel/?period=week")
    page = response.content.decode()
    days = table(response, "funnel-days")
    assert len(days) == 7  # every day of the period, the empty ones too
    assert days[-2][1:] == ["40", "12", "7", "6"]
    assert days[-1][1:] == ["1,960", "8", "3", "4"]
    chart = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    assert "10 activations" in chart
    assert "<script" not in page.split("</head>")[1]
    # Most activations first; the visits (country "") are not a country's.
    assert table(response, "funnel-countries") == [["RU", "18", "9", "9"], ["KZ", "2", "1", "1"]]
    assert 'href="/staff/referrals/funnel/?period=week&amp;country=KZ"' in page


def test_a_country_filters_the_funnel_and_has_no_visits(staff_client, funnel_days):
    response = staff_client.get("/staff/referrals/funnel/?period=week&country=ru")
    assert response.status_code == 200
    assert table(response, "funnel") == [
        ["Link visits", "—", "—"],
        ["Codes requested with an invite", "18", "—"],
        ["Sign-ups with an invite", "9", "50.00%"],
        ["Activations", "9", "100.00%"],
    ]
    page = response.content.decode()
    assert '<option value="RU" selected>' in page
    assert "Visits have no phone yet" in text(response)
    assert 'href="/staff/referrals/funnel/?period=week"' in page  # all countries again


@pytest.mark.parametrize("country", ["RUS", "R1", "\u0420\u0443"])
def test_a_bad_country_is_a_form_error(staff_client, funnel_days, country):
    response = staff_client.get("/staff/referrals/funnel/", {"country": country})
    assert response.status_code == 200
    assert "A country is two letters (ISO 3166), such as RU." in text(response)
    assert 'id="funnel"' not in response.content.decode()


def test_a_period_of_many_years_has_its_sums_but_no_day_by_day(staff_client, funnel_days):
    response = staff_client.get("/staff/referrals/funnel/?from=0001-01-01&to=9999-12-31")
    assert response.status_code == 200
    assert table(response, "funnel")[-1][:2] == ["Activations", "109"]
    assert "Day by day, a period of at most 1,098 days is shown." in text(response)
    assert "<svg" not in response.content.decode()


def test_an_empty_period_says_so(staff_client, funnel_days):
    response = staff_client.get("/staff/referrals/funnel/?from=2001-01-01&to=2001-01-31")
    assert response.status_code == 200
    assert "Nothing was counted in this period." in text(response)
    assert table(response, "funnel")[0] == ["Link visits", "0", "—"]


# --- a member -----------------------------------------------------------------------------------


def test_a_member_page_shows_the_chain_the_levels_and_the_direct_referrals(staff_client, tree):
    bob, alice, root = tree["bob"], tree["alice"], tree["root"]
    response = staff_client.get(f"/staff/referrals/users/{bob.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    chain = re.search(r'<ol class="chain" id="inviter-chain">(.*?)</ol>', page, re.S).group(1)
    assert re.findall(r'href="/staff/referrals/users/(\d+)/"', chain) == [
        str(alice.pk),
        str(root.pk),
    ]
    assert _phone(bob) in text(response)
    assert table(response, "levels") == [["1", "1"]]
    assert [row[0] for row in table(response, "member-list")] == [_phone(tree["dave"])]

    root_page = staff_client.get(f"/staff/referrals/users/{root.pk}/")
    assert table(root_page, "levels") == [["1", "1"], ["2", "2"], ["3", "1"]]
    assert "Nobody: this member is a root of the tree." in text(root_page)


def test_members_of_a_chosen_depth_newest_first(staff_client, tree):
    root = tree["root"]
    response = staff_client.get(f"/staff/referrals/users/{root.pk}/?depth=2")
    rows = table(response, "member-list")
    assert [row[0] for row in rows] == [_phone(tree["carol"]), _phone(tree["bob"])]
    assert rows[0][1] == _phone(tree["alice"])  # invited by
    assert "Members at depth 2" in text(response)


def test_members_are_paginated_by_cursor(staff_client, settings, make_user):
    settings.REFERRALS_PAGE_SIZE = 2
    owner = make_user()
    moment = at(today() - timedelta(days=3))
    # Five referrals, two at the same moment: the id breaks the tie.
    referrals = [make_user() for _ in range(5)]
    for n, referral in enumerate(referrals):
        refer(owner, referral, moment + timedelta(minutes=min(n, 3)))
    DownlineLevel.objects.create(user=owner, depth=1, members=5)
    expected = [
        _phone(u) for u in sorted(referrals, key=lambda u: (-min(referrals.index(u), 3), -u.pk))
    ]

    seen: list[str] = []
    url = f"/staff/referrals/users/{owner.pk}/"
    pages = 0
    while url:
        response = staff_client.get(url)
        assert response.status_code == 200
        seen += [row[0] for row in table(response, "member-list")]
        found = re.search(r'<a href="([^"]+)" rel="next">', response.content.decode())
        url = unescape(found.group(1)) if found else ""
        pages += 1
    assert seen == expected
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("depth=x", "Enter a whole number."),
        ("depth=0", "Ensure this value is greater than or equal to 1."),
        ("depth=99999999999999999999", "Ensure this value is less than or equal to"),
        ("cursor=garbage", "This page link is broken or out of date."),
        ("cursor=1.2.3", "This page link is broken or out of date."),
        ("cursor=999999999999999999.1", "This page link is broken or out of date."),
        ("cursor=%C2%B2.1", "This page link is broken or out of date."),
        ("cursor=.", "This page link is broken or out of date."),
    ],
)
def test_a_bad_depth_or_page_link_is_a_message(staff_client, tree, query, message):
    response = staff_client.get(f"/staff/referrals/users/{tree['root'].pk}/?{query}")
    assert response.status_code == 200
    assert message in text(response)
    assert 'id="member-list"' not in response.content.decode()


@pytest.mark.parametrize("user_id", ["999999", "99999999999999999999999"])
def test_an_unknown_member_is_the_404_page(staff_client, tree, user_id):
    response = staff_client.get(f"/staff/referrals/users/{user_id}/")
    assert response.status_code == 404
    assert "Page not found" in text(response)


# --- flags --------------------------------------------------------------------------------------


@pytest.fixture
def flags(tree: dict[str, User]) -> list[ReferralFlag]:
    now = clock_module.now()
    return [
        ReferralFlag.objects.create(
            invitee=tree["bob"],
            reason=FlagReason.BURST,
            detail={"referrals": 12, "window_minutes": 10},
            created_at=now - timedelta(hours=2),
        ),
        ReferralFlag.objects.create(
            invitee=tree["carol"],
            reason=FlagReason.SAME_NETWORK,
            detail={"referrals": 3, "window_hours": 24},
            created_at=now - timedelta(hours=1),
        ),
        ReferralFlag.objects.create(
            invitee=tree["dave"],
            reason=FlagReason.PHONE_RANGE,
            detail={"digits": 3},
            created_at=now - timedelta(hours=3),
            reviewed_at=now,
        ),
    ]


def test_the_flag_queue_shows_the_open_flags_newest_first(staff_client, tree, flags):
    response = staff_client.get("/staff/referrals/flags/")
    assert response.status_code == 200
    page = response.content.decode()
    assert re.findall(r'<li class="flag" id="flag-(\d+)">', page) == [
        str(flags[1].pk),
        str(flags[0].pk),
    ]
    said = text(response)
    assert "Many referrals in a short time : 12 referrals, within 10 minutes" in said
    assert "Many referrals from one network : 3 referrals, within 1 day" in said
    assert _phone(tree["alice"]) in said  # the inviter
    assert f'href="/staff/referrals/users/{tree["bob"].pk}/"' in page
    assert page.count("Mark reviewed") == 2


@pytest.mark.parametrize(
    ("query", "shown"),
    [("status=reviewed", [2]), ("status=all", [1, 0, 2]), ("reason=burst", [0])],
)
def test_the_flag_filters(staff_client, flags, query, shown):
    page = staff_client.get(f"/staff/referrals/flags/?{query}").content.decode()
    ids = re.findall(r'<li class="flag" id="flag-(\d+)">', page)
    assert ids == [str(flags[n].pk) for n in shown]


@pytest.mark.parametrize(
    "query", ["status=closed", "reason=spam", "cursor=x", "cursor=999999999999999999.1"]
)
def test_a_bad_flag_filter_is_a_message(staff_client, flags, query):
    response = staff_client.get(f"/staff/referrals/flags/?{query}")
    assert response.status_code == 200
    assert "There is a problem" in text(response) or "broken" in text(response)
    assert '<li class="flag"' not in response.content.decode()


def test_flags_are_paginated(staff_client, settings, flags):
    settings.REFERRALS_PAGE_SIZE = 1
    response = staff_client.get("/staff/referrals/flags/?status=all")
    seen = re.findall(r'<li class="flag" id="flag-(\d+)">', response.content.decode())
    while next_link := re.search(r'<a href="([^"]+)" rel="next">', response.content.decode()):
        response = staff_client.get(unescape(next_link.group(1)))
        seen += re.findall(r'<li class="flag" id="flag-(\d+)">', response.content.decode())
    assert seen == [str(flags[n].pk) for n in (1, 0, 2)]


def test_mark_reviewed_records_the_reviewer_and_goes_back(staff_client, staff, flags):
    back = "/staff/referrals/flags/?reason=burst"
    response = staff_client.post(f"/staff/referrals/flags/{flags[0].pk}/review/", {"next": back})
    assert response.status_code == 302
    assert response.url == back
    flags[0].refresh_from_db()
    assert flags[0].reviewed_by == staff and flags[0].reviewed_at is not None
    page = staff_client.get(back)
    assert "The flag is marked reviewed." in text(page)
    assert '<li class="flag"' not in page.content.decode()


def test_mark_reviewed_goes_back_only_to_the_queue(staff_client, flags):
    for elsewhere in (
        "https://evil.example/",
        "//evil.example/staff/referrals/flags/",
        "/profile/",
        "/staff/referrals/flags/\r\nSet-Cookie: x=1",
        "/staff/referrals/flags/?q=\u00e9",
    ):
        response = staff_client.post(
            f"/staff/referrals/flags/{flags[0].pk}/review/", {"next": elsewhere}
        )
        assert response.url == "/staff/referrals/flags/"


def test_mark_reviewed_needs_the_csrf_token(staff, flags):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    url = f"/staff/referrals/flags/{flags[0].pk}/review/"
    assert client.post(url).status_code == 403
    flags[0].refresh_from_db()
    assert flags[0].reviewed_at is None

    page = client.get("/staff/referrals/flags/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    flags[0].refresh_from_db()
    assert flags[0].reviewed_at is not None


def test_a_member_who_is_not_staff_cannot_review(client, user, flags):
    client.force_login(user)
    response = client.post(f"/staff/referrals/flags/{flags[0].pk}/review/")
    assert response.status_code == 403
    flags[0].refresh_from_db()
    assert flags[0].reviewed_at is None
    anonymous = Client()
    assert anonymous.post(f"/staff/referrals/flags/{flags[0].pk}/review/").status_code == 302


def test_reviewing_an_unknown_flag_is_the_404_page_and_get_is_refused(staff_client, flags):
    assert staff_client.post("/staff/referrals/flags/999999/review/").status_code == 404
    assert (
        staff_client.post("/staff/referrals/flags/9" * 1 + "9" * 30 + "/review/").status_code == 404
    )
    assert staff_client.get(f"/staff/referrals/flags/{flags[0].pk}/review/").status_code == 405


def test_a_second_review_keeps_the_first(staff_client, staff, make_user, flags):
    staff_client.post(f"/staff/referrals/flags/{flags[0].pk}/review/")
    flags[0].refresh_from_db()
    first = flags[0].reviewed_at
    other = make_user(is_staff=True)
    staff_client.force_login(other)
    assert staff_client.post(f"/staff/referrals/flags/{flags[0].pk}/review/").status_code == 302
    flags[0].refresh_from_db()
    assert (flags[0].reviewed_at, flags[0].reviewed_by) == (first, staff)


# --- Russian ------------------------------------------------------------------------------------


def test_the_pages_speak_russian(staff_client, tree, funnel_days, flags):
    leaderboard = staff_client.get("/staff/referrals/?period=all", **RU)
    assert '<html lang="ru">' in leaderboard.content.decode()
    assert "Рейтинг приглашающих" in text(leaderboard)
    assert table(leaderboard, "leaderboard")[0][-1] == f"16,67{NBSP}%"

    funnel = staff_client.get("/staff/referrals/funnel/?period=week", **RU)
    assert table(funnel, "funnel")[0] == ["Переходы по ссылке", f"2{NBSP}000", "—"]
    assert "Воронка приглашений" in text(funnel)

    member = staff_client.get(f"/staff/referrals/users/{tree['root'].pk}/", **RU)
    assert "Структура по уровням" in text(member)

    queue = staff_client.get("/staff/referrals/flags/", **RU)
    said = text(queue)
    assert "Отметить проверенным" in said
    assert "Много приглашённых за короткое время : 12 приглашённых, за 10 минут" in said


def test_the_language_cookie_chooses_russian(staff_client, tree, settings):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    response = staff_client.get("/staff/referrals/?from=2026-13-01")
    assert "Введите правильную дату." in text(response)
    assert "Рейтинг приглашающих" in text(response)


# --- CSV ----------------------------------------------------------------------------------------


def test_the_referrals_csv_streams_the_period(staff_client, tree):
    response = staff_client.get("/staff/referrals/export.csv?period=week")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="referrals-')
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "inviter_id,inviter_phone,invitee_id,invitee_phone,invite_code,activated_at,country,flags"
    )
    assert [line.split(",")[2] for line in lines[1:]] == [
        str(tree["bob"].pk),
        str(tree["carol"].pk),
    ]


def test_the_leaderboard_csv_streams_every_inviter(staff_client, tree):
    response = staff_client.get("/staff/referrals/leaderboard.csv?period=all")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == 'attachment; filename="leaderboard-open-open.csv"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "user_id,phone,referrals,downline,link_visits,conversion"
    assert [line.split(",")[0] for line in lines[1:]] == [
        str(tree["alice"].pk),
        str(tree["root"].pk),
        str(tree["bob"].pk),
    ]


def test_a_csv_with_a_bad_period_is_refused_with_the_form(staff_client, tree):
    response = staff_client.get("/staff/referrals/export.csv?from=2026-02-30")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Enter a valid date." in text(response)


def _phone(user: User) -> str:
    from vouch.core.phones import format_phone

    return format_phone(str(user.phone))


# --- cost ---------------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_a_page_of_members_or_flags_costs_the_same_whatever_its_rows(staff_client, make_user):
    owner = make_user()
    moment = at(today())
    url_members = f"/staff/referrals/users/{owner.pk}/?depth=2"
    child = make_user()
    refer(owner, child, moment)
    refer(child, make_user(), moment)
    DownlineLevel.objects.create(user=owner, depth=1, members=1)
    DownlineLevel.objects.create(user=owner, depth=2, members=1)
    ReferralFlag.objects.create(
        invitee=child, reason=FlagReason.BURST, created_at=moment, reviewed_at=moment
    )
    few = (
        _queries(staff_client, url_members),
        _queries(staff_client, "/staff/referrals/flags/?status=all"),
    )
    for _ in range(6):
        grandchild = make_user()
        refer(child, grandchild, moment)
        ReferralFlag.objects.create(
            invitee=grandchild, reason=FlagReason.BURST, created_at=moment, reviewed_at=moment
        )
    many = (
        _queries(staff_client, url_members),
        _queries(staff_client, "/staff/referrals/flags/?status=all"),
    )
    assert many == few


def test_a_reviewed_flag_says_when_and_by_whom(staff_client, staff, flags):
    staff_client.post(f"/staff/referrals/flags/{flags[0].pk}/review/")
    said = text(staff_client.get("/staff/referrals/flags/?status=reviewed"))
    assert _phone(staff) in said
    assert "the phone differs from the inviter's in the last 3 digits only" in said
