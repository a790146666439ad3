"""An SMTP login left pointing at the local server is warned about (vouch.W003)."""

from __future__ import annotations

from vouch.delivery.checks import check_email_host


def test_a_login_with_the_default_host_warns_and_hints_at_gmail(settings):
    settings.EMAIL_HOST_USER = "me@gmail.com"
    settings.EMAIL_HOST = "localhost"
    [warning] = check_email_host()
    assert warning.id == "vouch.W003"
    assert "smtp.gmail.com" in warning.hint


def test_a_login_with_its_own_host_passes(settings):
    settings.EMAIL_HOST_USER = "me@gmail.com"
    settings.EMAIL_HOST = "smtp.gmail.com"
    assert check_email_host() == []


def test_no_login_no_warning(settings):
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST = "localhost"
    assert check_email_host() == []


def test_a_batch_or_concurrency_below_one_is_an_error(settings):
    from vouch.delivery.checks import check_delivery_batch

    settings.DELIVERY_BATCH = 0
    assert [m.id for m in check_delivery_batch()] == ["vouch.E003"]
    settings.DELIVERY_BATCH = 32
    settings.DELIVERY_CONCURRENCY = 64
    assert [m.id for m in check_delivery_batch()] == ["vouch.W004"]
    settings.DELIVERY_CONCURRENCY = 16
    assert check_delivery_batch() == []
