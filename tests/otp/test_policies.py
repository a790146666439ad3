"""The send and verify limits of docs/security.md, each atomic and shared (vouch.otp.policies)."""

from __future__ import annotations

import pytest

from tests.concurrency import run_concurrently
from vouch.core.errors import Throttled
from vouch.otp import policies

pytestmark = pytest.mark.django_db

PHONE = "+79990005555"


def refused(func, **kwargs) -> int:
    with pytest.raises(Throttled) as error:
        func(**kwargs)
    return error.value.retry_after


def test_hourly_cap_per_phone_waits_for_the_window_not_the_cooldown(settings, clock):
    settings.OTP_RESEND_COOLDOWN = 10
    settings.OTP_SENDS_PER_PHONE_HOUR = 3
    for _ in range(3):
        policies.send_permit(phone=PHONE, ip="10.0.0.1")
        clock.advance(seconds=10)
    assert refused(policies.send_permit, phone=PHONE, ip="10.0.0.1") == 3600 - 30
    clock.advance(seconds=3600 - 30)
    policies.send_permit(phone=PHONE, ip="10.0.0.1")


def test_hourly_cap_per_ip_spans_phones(settings):
    settings.OTP_SENDS_PER_IP_HOUR = 2
    policies.send_permit(phone="+79990000101", ip="10.0.0.2")
    policies.send_permit(phone="+79990000102", ip="10.0.0.2")
    assert refused(policies.send_permit, phone="+79990000103", ip="10.0.0.2") == 3600
    policies.send_permit(phone="+79990000103", ip="10.0.0.3")


def test_global_budget_counts_every_phone_and_ip(settings):
    settings.OTP_SENDS_GLOBAL_HOUR = 2
    policies.send_permit(phone="+79990000201", ip="10.0.1.1")
    policies.send_permit(phone="+79990000202", ip="10.0.1.2")
    refused(policies.send_permit, phone="+79990000203", ip="10.0.1.3")


def test_global_budget_zero_is_off(settings):
    settings.OTP_SENDS_GLOBAL_HOUR = 0
    settings.OTP_SENDS_PER_IP_HOUR = 0
    for n in range(30):
        policies.send_permit(phone=f"+7999000{n:04d}", ip="10.0.1.9")


def test_a_refused_send_keeps_the_global_count_but_refunds_the_users_quota(settings):
    settings.OTP_SENDS_GLOBAL_HOUR = 1
    settings.OTP_SENDS_PER_PHONE_HOUR = 1
    policies.send_permit(phone=PHONE, ip="10.0.2.1")
    policies.send_refund(phone=PHONE, ip="10.0.2.1")
    # The phone's own quota and cooldown are back, the global budget is not.
    refused(policies.send_permit, phone=PHONE, ip="10.0.2.1")
    settings.OTP_SENDS_GLOBAL_HOUR = 2
    policies.send_permit(phone=PHONE, ip="10.0.2.1")


def test_a_refusal_gives_back_what_the_other_limits_counted(settings):
    settings.OTP_SENDS_GLOBAL_HOUR = 1
    policies.send_permit(phone="+79990000301", ip="10.0.3.1")
    refused(policies.send_permit, phone=PHONE, ip="10.0.3.2")
    settings.OTP_SENDS_GLOBAL_HOUR = 0
    # Neither the cooldown nor the IP cap of the refused request was used up.
    settings.OTP_SENDS_PER_IP_HOUR = 1
    policies.send_permit(phone=PHONE, ip="10.0.3.2")


def wrong_guess(phone: str, ip: str) -> policies.Guess:
    with policies.guess(phone=phone, ip=ip) as current:
        current.failed()
    return current


def test_failed_codes_lock_the_phone_for_the_rest_of_the_day(settings, clock):
    settings.OTP_FAILURES_PER_PHONE_DAY = 3
    assert [wrong_guess(PHONE, "10.0.4.1").locks_phone for _ in range(3)] == [False, False, True]
    clock.advance(hours=1)
    with pytest.raises(Throttled) as locked:
        wrong_guess(PHONE, "10.0.4.2")
    assert locked.value.retry_after == 86400 - 3600
    assert locked.value.scope == "phone_locked"
    # Step 1 refuses a locked phone too: no SMS for a code that could not be used.
    assert refused(policies.send_permit, phone=PHONE, ip="10.0.4.2") == 86400 - 3600
    clock.advance(hours=23)
    wrong_guess(PHONE, "10.0.4.2")


def test_a_guess_that_is_not_wrong_gives_its_slot_back(settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 2
    for _ in range(5):
        with policies.guess(phone=PHONE, ip="10.0.4.3"):
            pass  # right code, or no code to compare with: not a failure
    wrong_guess(PHONE, "10.0.4.3")
    assert wrong_guess(PHONE, "10.0.4.3").locks_phone


def test_a_guess_that_raises_gives_its_slot_back(settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    with pytest.raises(RuntimeError), policies.guess(phone=PHONE, ip="10.0.4.4"):
        raise RuntimeError
    assert wrong_guess(PHONE, "10.0.4.4").locks_phone


def test_verifies_per_ip_per_hour(settings):
    settings.OTP_VERIFIES_PER_IP_HOUR = 2
    for phone in ("+79990000401", "+79990000402"):
        with policies.guess(phone=phone, ip="10.0.5.1"):
            pass
    with (
        pytest.raises(Throttled) as refused_error,
        policies.guess(phone="+79990000403", ip="10.0.5.1"),
    ):
        pass
    assert refused_error.value.retry_after == 3600
    assert refused_error.value.scope == "verify_ip_hour"


def test_a_locked_phone_does_not_use_up_the_ips_verify_quota(settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    settings.OTP_VERIFIES_PER_IP_HOUR = 2
    wrong_guess(PHONE, "10.0.5.2")
    for _ in range(3):
        with pytest.raises(Throttled):
            wrong_guess(PHONE, "10.0.5.2")
    with policies.guess(phone="+79990000404", ip="10.0.5.2"):
        pass


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_from_many_processes_respect_the_global_budget(settings):
    settings.OTP_SENDS_GLOBAL_HOUR = 5
    settings.OTP_SENDS_PER_IP_HOUR = 0
    results = run_concurrently(
        lambda i: policies.send_permit(phone=f"+7999001{i:04d}", ip="10.0.6.1"), 16
    )
    passed = [r for r in results if r is None]
    assert len(passed) == 5
    assert all(isinstance(r, Throttled) for r in results if r is not None)


def test_ipv6_clients_of_one_network_share_the_per_ip_cap(settings):
    settings.OTP_SENDS_PER_IP_HOUR = 2
    settings.OTP_IPV6_PREFIX = 64
    policies.send_permit(phone="+79990000601", ip="2001:db8:7:1::1")
    policies.send_permit(phone="+79990000602", ip="2001:db8:7:1:ffff::2")
    assert refused(policies.send_permit, phone="+79990000603", ip="2001:db8:7:1:1234::9") == 3600
    policies.send_permit(phone="+79990000603", ip="2001:db8:7:2::1")  # another network


def test_ipv6_clients_of_one_network_share_the_verify_cap(settings):
    settings.OTP_VERIFIES_PER_IP_HOUR = 1
    with policies.guess(phone="+79990000611", ip="2001:db8:8:1::1"):
        pass
    with pytest.raises(Throttled), policies.guess(phone="+79990000612", ip="2001:db8:8:1::abcd"):
        pass


def test_a_send_checks_the_locks_and_counts_in_one_call_to_redis(redis_url, settings, monkeypatch):
    settings.REDIS_URL = redis_url
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    from vouch.core.limiter import _redis_limiter

    limiter = _redis_limiter(redis_url)
    calls = []
    command = limiter.client.execute_command
    monkeypatch.setattr(
        limiter.client, "execute_command", lambda *a, **k: calls.append(a[0]) or command(*a, **k)
    )
    # The server learns the script once (SCRIPT LOAD after a NOSCRIPT), whatever came before.
    policies.send_permit(phone="+79990000613", ip="10.0.9.3")
    calls.clear()
    policies.send_permit(phone=PHONE, ip="10.0.9.1", email="a@example.com")
    assert len(calls) == 1
    wrong_guess(PHONE, "10.0.9.1")
    calls.clear()
    with pytest.raises(Throttled) as locked:
        policies.send_permit(phone=PHONE, ip="10.0.9.2")
    assert locked.value.scope == "phone_locked"
    assert len(calls) == 1
    settings.OTP_FAILURES_PER_PHONE_DAY = 0  # the lock is off: the hourly caps still count
    policies.send_permit(phone="+79990005556", ip="10.0.9.2")


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    """Each limiter in turn: the database's, and Redis' (REDIS_URL)."""
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_url")
    return request.param


def test_a_guess_known_not_to_be_wrong_counts_no_failure(store, settings):
    settings.OTP_FAILURES_PER_PHONE_DAY = 2
    for _ in range(5):
        with policies.guess(phone=PHONE, ip="10.0.7.1", wrong=False):
            pass
    assert not wrong_guess(PHONE, "10.0.7.1").locks_phone
    assert wrong_guess(PHONE, "10.0.7.1").locks_phone
    with (
        pytest.raises(Throttled) as locked,
        policies.guess(phone=PHONE, ip="10.0.7.1", wrong=False),
    ):
        pass
    assert locked.value.scope == "phone_locked"


def _refusal(*, wrong: bool, ip: str) -> tuple[int, str]:
    with pytest.raises(Throttled) as refused_error, policies.guess(phone=PHONE, ip=ip, wrong=wrong):
        pass
    return refused_error.value.retry_after, refused_error.value.scope


def test_a_guess_read_or_counted_is_refused_alike(store, settings, clock):
    """A right code must not be told from a wrong one by its refusal, whatever is full."""
    settings.OTP_FAILURES_PER_PHONE_DAY = 1
    settings.OTP_VERIFIES_PER_IP_HOUR = 1
    wrong_guess(PHONE, "10.0.8.1")  # the phone is locked for a day
    assert _refusal(wrong=False, ip="10.0.8.2") == _refusal(wrong=True, ip="10.0.8.2")
    assert _refusal(wrong=False, ip="10.0.8.2")[1] == "phone_locked"
    # Late in the phone's day, an IP whose hour has just begun is full too: its wait is the
    # longer one, and both answers name it.
    clock.advance(hours=23, minutes=30)
    with policies.guess(phone="+79990000701", ip="10.0.8.3", wrong=False):
        pass
    clock.advance(minutes=6)
    read, counted = _refusal(wrong=False, ip="10.0.8.3"), _refusal(wrong=True, ip="10.0.8.3")
    assert read == counted == (3600 - 360, "verify_ip_hour")
