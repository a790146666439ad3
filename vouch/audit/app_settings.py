"""The audit settings, read when asked for (see `vouch.core.app_settings`)."""

from __future__ import annotations

from vouch.core.app_settings import AppSettings


class AuditSettings(AppSettings):
    @property
    def RETENTION_DAYS(self) -> int:
        """Days audit events are kept (`AUDIT_RETENTION_DAYS`)."""
        return int(self._setting("AUDIT_RETENTION_DAYS", 90))


audit_settings = AuditSettings()
