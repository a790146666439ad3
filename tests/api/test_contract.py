"""
The client-friendly details of docs/api.md that a fuzzer (schemathesis, .ci/fuzz) checks too:
OPTIONS, 405 with Allow, 413, 415, and request fields that take JSON types at their word.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from tests.api.conftest import (
    ACTIVATE,
    AUTHENTICATE,
    USERS,
    assert_error,
    assert_field_error,
)
from tests.conftest import new_phone
from vouch.accounts.models import User

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _concrete(path: str, user: User) -> str:
    return path.replace("{id}", str(user.pk))


def _allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


def test_options_answers_200_with_allow_on_every_api_path(schema, staff, client_for):
    client = client_for(staff)
    for path, item in schema["paths"].items():
        documented = {method.upper() for method in item if method in METHODS}
        response = client.options(_concrete(path, staff))
        assert response.status_code == 200, (path, response.content)
        assert response["Content-Type"].startswith("application/json"), path
        assert documented | {"OPTIONS"} <= _allowed(response), (path, response["Allow"])


def test_options_works_anonymously_too(api):
    for path in (AUTHENTICATE, ACTIVATE, "/api/users/token/refresh/"):
        response = api.options(path)
        assert response.status_code == 200, path
        assert "OPTIONS" in _allowed(response)


def test_405_with_allow_on_every_api_path(schema, staff, client_for):
    client = client_for(staff)
    for path, item in schema["paths"].items():
        documented = {method for method in item if method in METHODS}
        for method in sorted(set(METHODS) - documented):
            response = getattr(client, method)(_concrete(path, staff), {}, format="json")
            assert_error(response, 405, "method_not_allowed")
            allowed = _allowed(response)
            assert {m.upper() for m in documented} <= allowed, (method, path, allowed)
            assert method.upper() not in allowed


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/xml", "text/plain", "application/yaml"]
)
def test_415_for_an_xml_or_other_body(api, content_type):
    response = api.post(
        AUTHENTICATE,
        data="<phone>+79123456789</phone>",
        content_type=content_type,
    )
    assert_error(response, 415, "unsupported_media_type")


def test_415_on_an_authenticated_endpoint(user, client_for):
    response = client_for(user).post(
        ACTIVATE, data="<invite_code>A1B2C3</invite_code>", content_type="application/xml"
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", [AUTHENTICATE, ACTIVATE, USERS])
def test_413_for_a_huge_body(api, path):
    huge = json.dumps({"phone": "+79123456789", "pad": "x" * (settings.API_MAX_BODY_BYTES + 1)})
    response = api.post(path, data=huge, content_type="application/json")
    body = assert_error(response, 413, "request_too_large")
    assert set(body) == {"detail", "code"}


def test_a_body_under_the_limit_is_read(api):
    padded = json.dumps({"phone": "not a phone", "pad": "x" * 1000})
    assert_field_error(
        api.post(AUTHENTICATE, data=padded, content_type="application/json"), "phone"
    )


# --- JSON types are the contract: no coercion of numbers into strings, or "0" into false ---


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": 79123456789}, "phone"),
        ({"phone": "+79123456789", "invite_code": 123456}, "invite_code"),
        ({"phone": "+79123456789", "email": 5, "channel": "email"}, "email"),
        ({"phone": "+79123456789", "code": 123456}, "code"),
        ({"phone": ["+79123456789"]}, "phone"),
    ],
)
def test_authenticate_refuses_numbers_for_strings(api, body, field):
    assert_field_error(api.post(AUTHENTICATE, body, format="json"), field)


@pytest.mark.parametrize("value", [0, 1, "true", "false", None, []])
def test_a_boolean_must_be_a_json_boolean(staff, client_for, value):
    body = {"phone": new_phone(), "is_staff": value}
    assert_field_error(client_for(staff).post(USERS, body, format="json"), "is_staff")


def test_a_form_still_sends_booleans_as_text(staff, client_for):
    """The browsable API posts forms: there `true` is text, and reads as a boolean."""
    response = client_for(staff).post(USERS, {"phone": new_phone(), "is_staff": "true"})
    assert response.status_code == 201, response.content
    assert response.json()["is_staff"] is True


def test_update_refuses_a_number_for_the_email(user, client_for):
    response = client_for(user).patch(f"{USERS}{user.pk}/", {"email": 5}, format="json")
    assert_field_error(response, "email")


def test_an_email_may_be_empty(user, client_for):
    response = client_for(user).patch(f"{USERS}{user.pk}/", {"email": ""}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == ""


# --- query parameters are checked as the schema states them ---


@pytest.mark.parametrize(
    "query, field",
    [
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "phone,date_joined"}, "ordering"),
        ({"page": "last"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "1.0"}, "page"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "\u0663"}, "page_size"),  # an Arabic-Indic digit is not ASCII
        ({"invited_by": "x"}, "invited_by"),
        ({"invited_by": "-1"}, "invited_by"),
        ({"search": "a\x00b"}, "search"),
        ({"search": "x" * 101}, "search"),
    ],
)
def test_user_list_refuses_malformed_parameters(staff, client_for, query, field):
    assert_field_error(client_for(staff).get(USERS, query), field)


@pytest.mark.parametrize("ordering", ["date_joined", "-date_joined", "phone", "-phone"])
def test_user_list_orderings(staff, make_user, client_for, ordering):
    make_user()
    response = client_for(staff).get(USERS, {"ordering": ordering})
    assert response.status_code == 200, response.content
    phones = [row["phone"] for row in response.json()["results"]]
    key = ordering.lstrip("-")
    rows = response.json()["results"]
    assert [row[key] for row in rows] == sorted(
        (row[key] for row in rows), reverse=ordering.startswith("-")
    ), phones


@pytest.mark.parametrize("name", ["page", "page_size", "ordering", "invited_by", "search"])
def test_an_empty_query_value_means_absent(staff, client_for, name):
    """As an HTML form sends an empty field, and as the schema's `allowEmptyValue` says."""
    response = client_for(staff).get(USERS, {name: ""})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == User.objects.count()


def test_a_page_past_the_end_is_404(staff, client_for):
    assert_error(client_for(staff).get(USERS, {"page": 999}), 404, "not_found")


def test_detail_paths_ignore_the_list_parameters(user, client_for):
    response = client_for(user).get(f"{USERS}{user.pk}/", {"ordering": "nonsense"})
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", ["abc", "0", "-5", "2.5"])
def test_referrals_refuse_a_malformed_page_size(user, client_for, page_size):
    path = f"/api/users/profile/{user.pk}/referrals/"
    assert_field_error(client_for(user).get(path, {"page_size": page_size}), "page_size")


@pytest.mark.parametrize("hours", ["1.5", "abc", "0", "721", "24.0", " 5", "\u0663"])
def test_conversion_report_refuses_malformed_hours(staff, client_for, hours):
    response = client_for(staff).get("/api/stats/conversion/", {"hours": hours})
    assert_field_error(response, "hours")


@pytest.mark.parametrize(
    "query, status",
    [
        ({"page_size": "9" * 30}, 200),
        ({"invited_by": "9" * 30}, 200),
        ({"page": "9" * 30}, 404),
        ({"search": "\u0100\u2603 +7"}, 200),
    ],
)
def test_user_list_takes_any_schema_valid_value(staff, client_for, query, status):
    response = client_for(staff).get(USERS, query)
    assert response.status_code == status, response.content


def test_huge_ids_in_paths_are_404(staff, client_for):
    client = client_for(staff)
    for path in (f"{USERS}{'9' * 30}/", f"/api/users/profile/{'9' * 30}/"):
        assert_error(client.get(path), 404, "not_found")
