"""
The core settings, and the base of every app's settings object.

Each app reads its settings through one object of its own (`vouch.otp.app_settings.otp_settings`,
`vouch.delivery.app_settings.delivery_settings`, ...), as DRF's `api_settings` and allauth's
`app_settings` do: one documented property per setting, with its default, read from
`django.conf.settings` each time it is asked for, so `override_settings` and the tests'
`settings` fixture reach it. `config/settings.py` fills those Django settings from the
environment; `vouch.core.settings_registry` documents the variables.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


class AppSettings:
    """Read a Django setting when asked, with the app's default when it is not defined."""

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(settings, name, default)


class CoreSettings(AppSettings):
    @property
    def SITE_URL(self) -> str:
        """The public base URL, without a trailing slash (`SITE_URL`)."""
        return str(self._setting("SITE_URL", "http://localhost:8000")).rstrip("/")

    @property
    def SITE_NAME(self) -> str:
        """The product name on the pages and in the admin (`SITE_NAME`)."""
        return str(self._setting("SITE_NAME", "Vouch"))

    @property
    def SITE_LOGO_URL(self) -> str:
        """The header's logo image; empty: the built-in mark (`SITE_LOGO_URL`)."""
        return str(self._setting("SITE_LOGO_URL", ""))

    @property
    def SITE_LINKS(self) -> dict[str, str]:
        """
        The footer's links that are set, by name: `privacy` (`SITE_PRIVACY_URL`), `terms`
        (`SITE_TERMS_URL`) and `support` (`SITE_SUPPORT_URL`).
        """
        links = {
            "privacy": self._setting("SITE_PRIVACY_URL", ""),
            "terms": self._setting("SITE_TERMS_URL", ""),
            "support": self._setting("SITE_SUPPORT_URL", ""),
        }
        return {name: str(url) for name, url in links.items() if url}

    def site(self) -> dict[str, Any]:
        """The site as every page's frame shows it: `name`, `logo_url` and `links`."""
        return {"name": self.SITE_NAME, "logo_url": self.SITE_LOGO_URL, "links": self.SITE_LINKS}

    @property
    def PHONE_DEFAULT_REGION(self) -> str:
        """The region of numbers written without a country code (`PHONE_DEFAULT_REGION`)."""
        return str(self._setting("PHONE_DEFAULT_REGION", "RU"))

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:
        """Reverse proxies in front; 0 takes the socket's address (`TRUSTED_PROXY_COUNT`)."""
        return int(self._setting("TRUSTED_PROXY_COUNT", 0))

    @property
    def IPV6_PREFIX(self) -> int:
        """Leading bits of an IPv6 address per-IP limits count by, 1-128 (`OTP_IPV6_PREFIX`)."""
        return int(self._setting("OTP_IPV6_PREFIX", 64))

    @property
    def REDIS_URL(self) -> str:
        """Redis for the limiter, the cache and the rq queue; empty: none (`REDIS_URL`)."""
        return str(self._setting("REDIS_URL", ""))

    @property
    def REDIS_SOCKET_TIMEOUT(self) -> float:
        """Seconds to connect to Redis and to wait for it (`REDIS_SOCKET_TIMEOUT`)."""
        return float(self._setting("REDIS_SOCKET_TIMEOUT", 1.0))

    @property
    def CACHE_KEY_PREFIX(self) -> str:
        """Prefix of the cache and rate-limit keys in Redis (`CACHE_KEY_PREFIX`)."""
        return str(self._setting("CACHE_KEY_PREFIX", "vouch"))

    @property
    def TASKS_BACKEND(self) -> str:
        """Who runs background work: immediate, database or rq (`TASKS_BACKEND`)."""
        return str(self._setting("TASKS_BACKEND", "immediate"))

    @property
    def TASK_RESULT_RETENTION_DAYS(self) -> int:
        """Days finished task rows are kept (`TASK_RESULT_RETENTION_DAYS`)."""
        return int(self._setting("TASK_RESULT_RETENTION_DAYS", 14))

    @property
    def LOG_FORMAT(self) -> str:
        """Log lines as text or json (`LOG_FORMAT`)."""
        return str(self._setting("LOG_FORMAT", "text"))

    @property
    def METRICS_TOKEN(self) -> str:
        """Bearer token that opens /metrics, 32+ characters; empty: staff only (`METRICS_TOKEN`)."""
        return str(self._setting("METRICS_TOKEN", ""))

    @property
    def PROMETHEUS_MULTIPROC_DIR(self) -> str:
        """Where the web workers write their metrics (`PROMETHEUS_MULTIPROC_DIR`)."""
        return str(self._setting("PROMETHEUS_MULTIPROC_DIR", ""))

    @property
    def PROMETHEUS_WORKER_MULTIPROC_DIR(self) -> str:
        """The delivery worker's metrics directory (`PROMETHEUS_WORKER_MULTIPROC_DIR`)."""
        return str(self._setting("PROMETHEUS_WORKER_MULTIPROC_DIR", ""))

    @property
    def PERMISSIONS_POLICY(self) -> str:
        """The Permissions-Policy header; empty: none (`PERMISSIONS_POLICY`)."""
        return str(self._setting("PERMISSIONS_POLICY", ""))


core_settings = CoreSettings()
