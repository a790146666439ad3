"""The account settings: the admin login's limits, and the API token key's rule."""

from __future__ import annotations

from vouch.core.app_settings import AppSettings

JWT_SIGNING_KEY_MIN_BYTES = 32


class AccountsSettings(AppSettings):
    @property
    def ADMIN_LOGIN_FAILURES_PER_ACCOUNT(self) -> int:
        """Wrong admin passwords per account within the window; 0: no cap
        (`ADMIN_LOGIN_FAILURES_PER_ACCOUNT`)."""
        return int(self._setting("ADMIN_LOGIN_FAILURES_PER_ACCOUNT", 5))

    @property
    def ADMIN_LOGIN_FAILURES_PER_IP(self) -> int:
        """Wrong admin passwords per client IP within the window; 0: no cap
        (`ADMIN_LOGIN_FAILURES_PER_IP`)."""
        return int(self._setting("ADMIN_LOGIN_FAILURES_PER_IP", 20))

    @property
    def ADMIN_LOGIN_LOCKOUT(self) -> int:
        """Seconds of the admin login's failure window and lockout (`ADMIN_LOGIN_LOCKOUT`)."""
        return int(self._setting("ADMIN_LOGIN_LOCKOUT", 900))

    @property
    def JWT_SIGNING_KEY(self) -> str:
        """The HS256 key of API tokens, at least 32 bytes (`JWT_SIGNING_KEY`)."""
        return str(self._setting("SIMPLE_JWT", {}).get("SIGNING_KEY", ""))


accounts_settings = AccountsSettings()
