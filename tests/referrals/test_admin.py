"""
The queue of suspicious referrals in Django admin: read-only, filtered by reason and review,
changed only by the action that marks flags reviewed (through the service, first review kept).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from vouch.accounts.models import User
from vouch.accounts.services import user_create
from vouch.core.phones import mask_phone
from vouch.referrals.models import FlagReason, ReferralFlag
from vouch.referrals.services import invite_code_activate, referral_flag_review

pytestmark = pytest.mark.django_db

FLAGS = "/admin/referrals/referralflag/"


@pytest.fixture
def superuser(make_user) -> User:
    return make_user(is_staff=True, is_superuser=True, password="pw-123456789")


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def flags(settings) -> list[ReferralFlag]:
    """Two flags of one invitee: its phone is in the inviter's range and it is a burst."""
    settings.REFERRALS_FLAG_BURST_REFERRALS = 1
    settings.REFERRALS_FLAG_PHONE_RANGE_DIGITS = 2
    owner = user_create(phone="+79161234590")
    invitee = user_create(phone="+79161234591")
    invite_code_activate(user=invitee, raw_code=owner.invite_code)
    return list(ReferralFlag.objects.order_by("reason"))


def listed(response) -> list[ReferralFlag]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_list_shows_reason_detail_and_masked_phone(admin_client, flags):
    response = admin_client.get(FLAGS)
    assert sorted(listed(response), key=lambda flag: flag.reason) == flags
    page = response.content.decode()
    assert mask_phone("+79161234591") in page
    assert "+79161234591" not in page
    assert "window_minutes" in page


def test_the_list_filters_by_reason_and_review(admin_client, flags, superuser):
    burst = next(flag for flag in flags if flag.reason == FlagReason.BURST)
    referral_flag_review(flag_id=burst.pk, reviewer=superuser)
    assert listed(admin_client.get(FLAGS, {"reason__exact": FlagReason.BURST})) == [burst]
    assert listed(admin_client.get(FLAGS, {"reviewed": "yes"})) == [burst]
    open_ = listed(admin_client.get(FLAGS, {"reviewed": "no"}))
    assert [flag.reason for flag in open_] == [FlagReason.PHONE_RANGE]


def test_the_action_marks_flags_reviewed_and_keeps_an_earlier_review(
    admin_client, flags, superuser, make_user
):
    earlier = make_user(is_staff=True)
    referral_flag_review(flag_id=flags[0].pk, reviewer=earlier)
    response = admin_client.post(
        FLAGS,
        {"action": "mark_reviewed", "_selected_action": [flag.pk for flag in flags]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 flags marked reviewed." in response.content.decode()
    reviewers = dict(ReferralFlag.objects.values_list("pk", "reviewed_by_id"))
    assert reviewers == {flags[0].pk: earlier.pk, flags[1].pk: superuser.pk}


def test_a_flag_cannot_be_added_changed_or_deleted(admin_client, flags):
    flag = flags[0]
    assert admin_client.get(f"{FLAGS}add/").status_code == 403
    page = admin_client.get(f"{FLAGS}{flag.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    admin_client.post(f"{FLAGS}{flag.pk}/change/", {"reason": FlagReason.BURST})
    assert ReferralFlag.objects.get(pk=flag.pk).reason == flag.reason
    assert admin_client.get(f"{FLAGS}{flag.pk}/delete/").status_code == 403
    response = admin_client.post(
        FLAGS, {"action": "delete_selected", "_selected_action": [flag.pk]}
    )
    assert ReferralFlag.objects.filter(pk=flag.pk).exists()
    assert response.status_code in (200, 302)


def test_deleting_a_flagged_user_in_the_admin_takes_its_flags_along(admin_client, flags):
    invitee_id = flags[0].invitee_id
    response = admin_client.post(f"/admin/accounts/user/{invitee_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=invitee_id).exists()
    assert not ReferralFlag.objects.exists()


def test_staff_who_may_only_view_flags_cannot_review_them(make_user, flags):
    viewer = make_user(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_referralflag"))
    client = Client()
    client.force_login(viewer)
    response = client.get(FLAGS)
    assert response.status_code == 200
    assert "mark_reviewed" not in response.content.decode()
    client.post(FLAGS, {"action": "mark_reviewed", "_selected_action": [flags[0].pk]})
    assert not ReferralFlag.objects.filter(reviewed_at__isnull=False).exists()
