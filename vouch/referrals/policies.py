"""
The limits against guessing invite codes: failed activations per user and per client IP, and
invite links with unknown codes per client IP. Each counts only the tries that found nothing
(see `vouch.core.attempts`), so people who type a real code never meet them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from vouch.core.attempts import Attempt, Limit, attempt
from vouch.core.requests import ip_bucket
from vouch.referrals.app_settings import referrals_settings

HOUR = 3600


def activation_guess(*, user_id: int, ip: str | None) -> AbstractContextManager[Attempt]:
    """
    Admit one invite-code activation by `user_id` from `ip`, or raise Throttled: failed
    activations per user and per IP per hour. Call `failed()` when the code was a miss
    (unknown, one's own, or a cycle); anything else gives the slots back.
    """
    limits = [
        Limit(
            "invite_user_hour",
            f"referrals:activate:failures-user:{user_id}",
            referrals_settings.FAILED_ACTIVATIONS_PER_USER_HOUR,
            HOUR,
        )
    ]
    if ip:
        limits.append(
            Limit(
                "invite_ip_hour",
                f"referrals:activate:failures-ip:{ip_bucket(ip)}",
                referrals_settings.FAILED_ACTIVATIONS_PER_IP_HOUR,
                HOUR,
            )
        )
    return attempt(limits)


def join_guess(*, ip: str | None) -> AbstractContextManager[Attempt]:
    """
    Admit one invite-link lookup from `ip`, or raise Throttled once the IP has opened too many
    links with unknown codes this hour. Call `failed()` when the code is unknown.
    """
    limits = []
    if ip:
        limits.append(
            Limit(
                "join_ip_hour",
                f"referrals:join:unknown-ip:{ip_bucket(ip)}",
                referrals_settings.UNKNOWN_JOINS_PER_IP_HOUR,
                HOUR,
            )
        )
    return attempt(limits)
