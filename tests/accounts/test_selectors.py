"""The signed-in user, read the same way by the API's views and the pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.request import Request

from vouch.accounts.errors import NotSignedIn
from vouch.accounts.selectors import signed_in_user

pytestmark = pytest.mark.django_db


def test_the_signed_in_user_of_a_page_and_of_an_api_request(user):
    page = RequestFactory().get("/profile/")
    page.user = user
    assert signed_in_user(page) == user
    api = Request(RequestFactory().get("/api/users/profile/"))
    api.user = user
    assert signed_in_user(api) == user


def test_no_signed_in_user_is_a_401_not_authenticated():
    request = RequestFactory().get("/profile/")
    request.user = AnonymousUser()
    with pytest.raises(NotSignedIn) as refused:
        signed_in_user(request)
    assert (refused.value.status, refused.value.code) == (401, "not_authenticated")
