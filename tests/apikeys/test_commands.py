from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from vouch.apikeys.models import ApiKey
from vouch.apikeys.selectors import api_key_for
from vouch.audit.models import AuthEvent, Kind

pytestmark = pytest.mark.django_db


def create(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_api_key_prints_the_key_once():
    raw, note = create("--name", "crm", "--scopes", "users:read,referrals:read", "webhooks")
    api_key = api_key_for(raw=raw)
    assert api_key is not None
    assert api_key.name == "crm"
    assert api_key.scopes == ["users:read", "referrals:read", "webhooks"]
    assert api_key.expiry_date is None
    assert raw not in note
    assert api_key.prefix in note
    assert AuthEvent.objects.filter(kind=Kind.API_KEY_CREATED).count() == 1


def test_create_api_key_with_an_expiry(clock):
    raw, _note = create("--name", "crm", "--scopes", "users:read", "--expires-in-days", "30")
    api_key = api_key_for(raw=raw)
    assert api_key is not None
    assert api_key.expiry_date is not None
    clock.advance(days=30)
    assert api_key_for(raw=raw) is None


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "crm", "--scopes", "users:admin"],
        ["--name", "crm", "--scopes", ","],
        ["--name", "", "--scopes", "users:read"],
        ["--name", "x" * 51, "--scopes", "users:read"],
        ["--name", "crm", "--scopes", "users:read", "--expires-in-days", "0"],
    ],
)
def test_create_api_key_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        create(*args)
    assert not ApiKey.objects.exists()


def test_revoke_api_key_by_prefix():
    raw, _note = create("--name", "crm", "--scopes", "users:read")
    out = StringIO()
    call_command("revoke_api_key", raw.partition(".")[0], stdout=out)
    assert "Revoked" in out.getvalue()
    assert api_key_for(raw=raw) is None
    assert AuthEvent.objects.filter(kind=Kind.API_KEY_REVOKED).count() == 1
    with pytest.raises(CommandError):
        call_command("revoke_api_key", "nosuchpx", stdout=StringIO())
