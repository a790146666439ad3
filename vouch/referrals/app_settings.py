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

    # Suspicious referrals (`vouch.referrals.services`, flags): 0 in either setting of a rule
    # switches it off.

    @property
    def FLAG_NETWORK_REFERRALS(self) -> int:
        """Referrals of one inviter from one client network within FLAG_NETWORK_HOURS that
        flag the one reaching the count and every later one; 0: off
        (`REFERRALS_FLAG_NETWORK_REFERRALS`)."""
        return int(self._setting("REFERRALS_FLAG_NETWORK_REFERRALS", 3))

    @property
    def FLAG_NETWORK_HOURS(self) -> int:
        """The window of the same-network rule, hours; also how long a referral's network
        digest is kept; 0: off (`REFERRALS_FLAG_NETWORK_HOURS`)."""
        return int(self._setting("REFERRALS_FLAG_NETWORK_HOURS", 24))

    @property
    def FLAG_BURST_REFERRALS(self) -> int:
        """Activations of one inviter's code within FLAG_BURST_MINUTES that flag the one
        reaching the count and every later one; 0: off (`REFERRALS_FLAG_BURST_REFERRALS`)."""
        return int(self._setting("REFERRALS_FLAG_BURST_REFERRALS", 10))

    @property
    def FLAG_BURST_MINUTES(self) -> int:
        """The window of the burst rule, minutes; 0: off (`REFERRALS_FLAG_BURST_MINUTES`)."""
        return int(self._setting("REFERRALS_FLAG_BURST_MINUTES", 10))

    @property
    def FLAG_PHONE_RANGE_DIGITS(self) -> int:
        """An invitee's phone equal to the inviter's but for this many last digits is
        flagged; 0: off (`REFERRALS_FLAG_PHONE_RANGE_DIGITS`)."""
        return int(self._setting("REFERRALS_FLAG_PHONE_RANGE_DIGITS", 2))

    @property
    def FLAG_CHAIN_LINKS(self) -> int:
        """Links of a chain of activations (this one, its inviter's own, and so on up) all
        made within FLAG_CHAIN_HOURS that flag the last; 0: off
        (`REFERRALS_FLAG_CHAIN_LINKS`)."""
        return int(self._setting("REFERRALS_FLAG_CHAIN_LINKS", 5))

    @property
    def FLAG_CHAIN_HOURS(self) -> int:
        """The window of the fast-chain rule, hours; 0: off (`REFERRALS_FLAG_CHAIN_HOURS`)."""
        return int(self._setting("REFERRALS_FLAG_CHAIN_HOURS", 24))


referrals_settings = ReferralsSettings()
