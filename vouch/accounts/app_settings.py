"""The account settings: the admin login's limits, and the keys of API tokens."""

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

    @property
    def JWT_ALGORITHM(self) -> str:
        """ES256, RS256 or HS256; ES256 when a private key is configured (`JWT_ALGORITHM`)."""
        default = "ES256" if self.JWT_PRIVATE_KEY or self.JWT_PRIVATE_KEY_FILE else "HS256"
        return str(self._setting("JWT_ALGORITHM", "") or default)

    @property
    def JWT_PRIVATE_KEY(self) -> str:
        """The PEM private key that signs API tokens (`JWT_PRIVATE_KEY`)."""
        return str(self._setting("JWT_PRIVATE_KEY", "") or "")

    @property
    def JWT_PRIVATE_KEY_FILE(self) -> str:
        """The file of the PEM private key that signs API tokens (`JWT_PRIVATE_KEY_FILE`)."""
        return str(self._setting("JWT_PRIVATE_KEY_FILE", "") or "")

    @property
    def JWT_PREVIOUS_PUBLIC_KEYS_FILE(self) -> str:
        """A PEM file of public keys whose tokens still verify (`JWT_PREVIOUS_PUBLIC_KEYS_FILE`)."""
        return str(self._setting("JWT_PREVIOUS_PUBLIC_KEYS_FILE", "") or "")

    @property
    def JWT_ISSUER(self) -> str:
        """The `iss` claim of API tokens; SITE_URL by default (`JWT_ISSUER`)."""
        return str(self._setting("JWT_ISSUER", "") or self._setting("SITE_URL", ""))

    @property
    def JWT_AUDIENCE(self) -> str:
        """The `aud` claim of API tokens (`JWT_AUDIENCE`)."""
        return str(self._setting("JWT_AUDIENCE", "") or "vouch")


accounts_settings = AccountsSettings()
