"""The referral settings, read when asked for (see `vouch.core.app_settings`)."""

from __future__ import annotations

from vouch.core.app_settings import AppSettings


class ReferralsSettings(AppSettings):
    @property
    def PAGE_SIZE(self) -> int:
        """Referrals per page, in the profile and the list (`REFERRALS_PAGE_SIZE`)."""
        return int(self._setting("REFERRALS_PAGE_SIZE", 20))

    @property
    def FAILED_ACTIVATIONS_PER_USER_HOUR(self) -> int:
        """Failed invite-code activations per user per hour; 0: no cap
        (`REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR`)."""
        return int(self._setting("REFERRALS_FAILED_ACTIVATIONS_PER_USER_HOUR", 10))

    @property
    def FAILED_ACTIVATIONS_PER_IP_HOUR(self) -> int:
        """Failed invite-code activations per client IP per hour; 0: no cap
        (`REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR`)."""
        return int(self._setting("REFERRALS_FAILED_ACTIVATIONS_PER_IP_HOUR", 30))

    @property
    def UNKNOWN_JOINS_PER_IP_HOUR(self) -> int:
        """Invite links with unknown codes opened per client IP per hour; 0: no cap
        (`REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR`)."""
        return int(self._setting("REFERRALS_UNKNOWN_JOINS_PER_IP_HOUR", 30))


referrals_settings = ReferralsSettings()
