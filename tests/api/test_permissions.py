"""The scope permissions other endpoints take in one line (vouch/api/permissions.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from vouch.api.permissions import SignedInOrApiKeyScope, StaffOrApiKeyScope
from vouch.apikeys.services import api_key_create

pytestmark = pytest.mark.django_db


def request_as(user, auth=None):
    request = APIRequestFactory().get("/")
    request.user, request.auth = user, auth
    return request


def test_of_gives_one_class_per_scope():
    assert StaffOrApiKeyScope.of("webhooks") is StaffOrApiKeyScope.of("webhooks")
    assert StaffOrApiKeyScope.of("webhooks") is not SignedInOrApiKeyScope.of("webhooks")
    with pytest.raises(ValueError, match="unknown"):
        StaffOrApiKeyScope.of("users:admin")


def test_staff_or_a_key_with_the_scope(staff, user):
    permission = StaffOrApiKeyScope.of("webhooks")()
    hooks, _raw = api_key_create(name="a", scopes=["webhooks"])
    users, _raw = api_key_create(name="b", scopes=["users:read", "users:write"])
    assert permission.has_permission(request_as(staff), None)
    assert not permission.has_permission(request_as(user), None)
    assert not permission.has_permission(request_as(AnonymousUser()), None)
    assert permission.has_permission(request_as(AnonymousUser(), hooks), None)
    assert not permission.has_permission(request_as(AnonymousUser(), users), None)


def test_signed_in_or_a_key_with_the_scope(user):
    permission = SignedInOrApiKeyScope.of("referrals:read")()
    other, _raw = api_key_create(name="a", scopes=["users:read"])
    assert permission.has_permission(request_as(user), None)
    assert not permission.has_permission(request_as(AnonymousUser()), None)
    assert not permission.has_permission(request_as(AnonymousUser(), other), None)
