"""The schema's error answers come from the error classes themselves, not from copies."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.utils.translation import gettext_lazy as _

import vouch
from vouch.api.schema import error_classes_in
from vouch.core.errors import ApplicationError, ServiceUnavailable, Throttled
from vouch.core.phones import InvalidPhone
from vouch.otp import errors as otp_errors
from vouch.referrals import errors as referral_errors

pytestmark = pytest.mark.django_db

# Errors of endpoints the API's schema does not describe: the providers' delivery callbacks.
UNDOCUMENTED = ("vouch.delivery.",)


def _every_application_error() -> list[type[ApplicationError]]:
    for module in pkgutil.walk_packages(vouch.__path__, "vouch."):
        if module.name.endswith(".errors"):
            importlib.import_module(module.name)
    found, todo = [], [ApplicationError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("vouch.") and not sub.__module__.startswith("tests"):
                found.append(sub)
    return found


def _schema(api: Any) -> dict[str, Any]:
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _documented(operation: dict[str, Any], status: int) -> list[Any]:
    response = operation["responses"].get(str(status), {})
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return [example["value"] for example in examples.values()]


def _operation(schema: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    return schema["paths"][path][method]


def _body(error: type[ApplicationError]) -> dict[str, Any]:
    message = str(error.example_message())
    if error.field is not None:
        return {error.field: [message]}
    return {"detail": message, "code": error.code, **error.extra_example}


@pytest.mark.parametrize(
    ("path", "raised"),
    [
        (
            "/api/users/authenticate/",
            [*error_classes_in(otp_errors), InvalidPhone, Throttled, ServiceUnavailable],
        ),
        (
            "/api/users/profile/activate_invite_code/",
            [*(e for e in error_classes_in(referral_errors) if e.status != 404), Throttled],
        ),
        ("/api/referrals/flags/{id}/review/", [referral_errors.FlagNotFound]),
    ],
)
def test_every_error_an_endpoint_raises_is_documented_with_its_status_and_body(api, path, raised):
    operation = _operation(_schema(api), path)
    missing = [
        error.__name__
        for error in raised
        if _body(error) not in _documented(operation, error.status)
    ]
    assert not missing, missing


def test_every_error_code_appears_in_the_schema(api):
    text = str(_schema(api))
    missing = [
        f"{error.__module__}.{error.__name__}"
        for error in _every_application_error()
        if not error.__module__.startswith(UNDOCUMENTED) and f"'{error.code}'" not in text
    ]
    assert not missing, missing


def test_a_new_error_class_is_documented_without_an_edit_to_the_schema(api, monkeypatch):
    class SpeakerMuted(ApplicationError):
        code = "speaker_muted"
        status = 400
        message = _("The speaker is muted.")
        extra_example = {"muted_for": 7}

    SpeakerMuted.__module__ = otp_errors.__name__
    monkeypatch.setattr(otp_errors, "SpeakerMuted", SpeakerMuted, raising=False)
    schema = _schema(api)
    documented = _documented(_operation(schema, "/api/users/authenticate/"), 400)
    assert {
        "detail": "The speaker is muted.",
        "code": "speaker_muted",
        "muted_for": 7,
    } in documented
    properties = schema["components"]["schemas"]["Error"]["properties"]
    assert properties["muted_for"] == {"type": "integer", "description": "With `speaker_muted`."}
