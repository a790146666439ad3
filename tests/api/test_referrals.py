"""GET /api/users/profile/{id}/referrals/ (docs/api.md, Endpoints)."""

from __future__ import annotations

import pytest

from tests.api.conftest import REFERRAL_KEYS, assert_error, bulk_referrals, queries_for

pytestmark = pytest.mark.django_db


def referrals_path(user, slash=True):
    return f"/api/users/profile/{user.pk}/referrals" + ("/" if slash else "")


def ids(response):
    return [r["id"] for r in response.json()["results"]]


def test_shape_is_cursor_pagination(make_user, client_for):
    owner = make_user()
    referrals = bulk_referrals(owner, 3)
    response = client_for(owner).get(referrals_path(owner))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["next"] is None
    assert body["previous"] is None
    assert ids(response) == [r.pk for r in reversed(referrals)]
    assert all(set(r) == REFERRAL_KEYS for r in body["results"])
    assert body["results"][0]["phone"] == str(referrals[-1].phone)


def test_answers_without_the_trailing_slash_directly(make_user, client_for):
    owner = make_user()
    response = client_for(owner).get(referrals_path(owner, slash=False))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_default_page_is_the_referrals_page_size(make_user, client_for, settings):
    settings.REFERRALS_PAGE_SIZE = 4
    owner = make_user()
    bulk_referrals(owner, 6)
    response = client_for(owner).get(referrals_path(owner))
    assert len(response.json()["results"]) == 4
    assert response.json()["next"] is not None


def test_following_next_and_previous_walks_every_referral_once(make_user, client_for):
    owner = make_user()
    referrals = bulk_referrals(owner, 7)
    newest_first = [r.pk for r in reversed(referrals)]
    client = client_for(owner)

    first = client.get(referrals_path(owner), {"page_size": 3})
    seen = ids(first)
    link = first.json()["next"]
    assert f"/api/users/profile/{owner.pk}/referrals/?" in link
    assert "cursor=" in link
    pages = [first]
    while link:
        page = client.get(link)
        assert page.status_code == 200
        pages.append(page)
        seen += ids(page)
        link = page.json()["next"]
    assert seen == newest_first
    assert [len(ids(p)) for p in pages] == [3, 3, 1]

    back = client.get(pages[1].json()["previous"])
    assert ids(back) == newest_first[:3]


def test_page_size_is_capped_at_100(make_user, client_for):
    owner = make_user()
    bulk_referrals(owner, 101)
    client = client_for(owner)
    assert len(ids(client.get(referrals_path(owner), {"page_size": 500}))) == 100
    assert len(ids(client.get(referrals_path(owner), {"page_size": 100}))) == 100
    assert len(ids(client.get(referrals_path(owner), {"page_size": 50}))) == 50


def test_only_the_owners_referrals_are_listed(make_user, client_for):
    owner, other = make_user(), make_user()
    bulk_referrals(other, 2)
    assert client_for(owner).get(referrals_path(owner)).json()["results"] == []


def test_someone_elses_referrals_are_404_for_a_user(make_user, client_for):
    owner, other = make_user(), make_user()
    bulk_referrals(other, 2)
    client = client_for(owner)
    assert_error(client.get(referrals_path(other)), 404, "not_found")
    assert_error(client.get(referrals_path(other, slash=False)), 404, "not_found")


def test_staff_read_anyones_referrals(staff, make_user, client_for):
    owner = make_user()
    referrals = bulk_referrals(owner, 2)
    response = client_for(staff).get(referrals_path(owner))
    assert response.status_code == 200
    assert ids(response) == [r.pk for r in reversed(referrals)]


def test_anonymous_gets_401(api, user):
    assert_error(api.get(referrals_path(user)), 401, "not_authenticated")


def test_cost_does_not_grow_with_referrals(make_user, client_for):
    owner = make_user()
    client = client_for(owner)
    path = referrals_path(owner)
    with_none = queries_for(client, path)
    bulk_referrals(owner, 1000)
    assert queries_for(client, path) == with_none
    assert with_none <= 10
    page = client.get(path).json()
    assert queries_for(client, page["next"]) == with_none
