"""
The delivery settings: the routing and retry settings, and one group per SMS provider
(`delivery_settings.twilio.ACCOUNT_SID`, ...). Each is read from `django.conf.settings` when
asked for (see `vouch.core.app_settings`); the environment variables keep their names.
"""

from __future__ import annotations

from vouch.core.app_settings import AppSettings


class TwilioSettings(AppSettings):
    @property
    def ACCOUNT_SID(self) -> str:
        """Account SID (`TWILIO_ACCOUNT_SID`); required."""
        return str(self._setting("TWILIO_ACCOUNT_SID", ""))

    @property
    def AUTH_TOKEN(self) -> str:
        """Auth token, which also checks callback signatures (`TWILIO_AUTH_TOKEN`); required."""
        return str(self._setting("TWILIO_AUTH_TOKEN", ""))

    @property
    def FROM(self) -> str:
        """Sender number or ID when no Messaging Service is set (`TWILIO_FROM`)."""
        return str(self._setting("TWILIO_FROM", ""))

    @property
    def MESSAGING_SERVICE_SID(self) -> str:
        """Messaging Service that picks the sender (`TWILIO_MESSAGING_SERVICE_SID`)."""
        return str(self._setting("TWILIO_MESSAGING_SERVICE_SID", ""))

    @property
    def API_URL(self) -> str:
        """API base URL, without a trailing slash (`TWILIO_API_URL`)."""
        return str(self._setting("TWILIO_API_URL", "https://api.twilio.com")).rstrip("/")


class SmsRuSettings(AppSettings):
    @property
    def API_ID(self) -> str:
        """The account's API id, also the key of callback hashes (`SMSRU_API_ID`); required."""
        return str(self._setting("SMSRU_API_ID", ""))

    @property
    def FROM(self) -> str:
        """An approved sender name; empty: the account's default (`SMSRU_FROM`)."""
        return str(self._setting("SMSRU_FROM", ""))

    @property
    def API_URL(self) -> str:
        """API base URL, without a trailing slash (`SMSRU_API_URL`)."""
        return str(self._setting("SMSRU_API_URL", "https://sms.ru")).rstrip("/")


class SmscSettings(AppSettings):
    @property
    def LOGIN(self) -> str:
        """Account login (`SMSC_LOGIN`); required."""
        return str(self._setting("SMSC_LOGIN", ""))

    @property
    def PASSWORD(self) -> str:
        """Account password (`SMSC_PASSWORD`); required."""
        return str(self._setting("SMSC_PASSWORD", ""))

    @property
    def SENDER(self) -> str:
        """An approved sender name; empty: the account's default (`SMSC_SENDER`)."""
        return str(self._setting("SMSC_SENDER", ""))

    @property
    def API_URL(self) -> str:
        """API base URL, without a trailing slash (`SMSC_API_URL`)."""
        return str(self._setting("SMSC_API_URL", "https://smsc.ru")).rstrip("/")


class SmsAeroSettings(AppSettings):
    @property
    def EMAIL(self) -> str:
        """Account e-mail, the HTTP Basic user (`SMSAERO_EMAIL`); required."""
        return str(self._setting("SMSAERO_EMAIL", ""))

    @property
    def API_KEY(self) -> str:
        """API key, the HTTP Basic password (`SMSAERO_API_KEY`); required."""
        return str(self._setting("SMSAERO_API_KEY", ""))

    @property
    def SIGN(self) -> str:
        """An approved sender name (`SMSAERO_SIGN`)."""
        return str(self._setting("SMSAERO_SIGN", "SMS Aero"))

    @property
    def API_URL(self) -> str:
        """API base URL, without a trailing slash (`SMSAERO_API_URL`)."""
        return str(self._setting("SMSAERO_API_URL", "https://gate.smsaero.ru/v2")).rstrip("/")


class TelegramSettings(AppSettings):
    @property
    def TOKEN(self) -> str:
        """Gateway API token, also the key of callback signatures (`TELEGRAM_GATEWAY_TOKEN`)."""
        return str(self._setting("TELEGRAM_GATEWAY_TOKEN", ""))

    @property
    def API_URL(self) -> str:
        """API base URL, without a trailing slash (`TELEGRAM_GATEWAY_API_URL`)."""
        url = self._setting("TELEGRAM_GATEWAY_API_URL", "https://gatewayapi.telegram.org")
        return str(url).rstrip("/")

    @property
    def CHECK_ABILITY(self) -> bool:
        """Whether to ask checkSendAbility first (`TELEGRAM_GATEWAY_CHECK_ABILITY`)."""
        return bool(self._setting("TELEGRAM_GATEWAY_CHECK_ABILITY", False))


class WebhookSettings(AppSettings):
    @property
    def URL(self) -> str:
        """Where messages are POSTed (`SMS_WEBHOOK_URL`); required."""
        return str(self._setting("SMS_WEBHOOK_URL", ""))

    @property
    def SECRET(self) -> str:
        """HMAC-SHA256 key of X-Vouch-Signature both ways (`SMS_WEBHOOK_SECRET`); required."""
        return str(self._setting("SMS_WEBHOOK_SECRET", ""))


class DeliverySettings(AppSettings):
    twilio = TwilioSettings()
    smsru = SmsRuSettings()
    smsc = SmscSettings()
    smsaero = SmsAeroSettings()
    telegram = TelegramSettings()
    webhook = WebhookSettings()

    @property
    def SMS_BACKEND(self) -> str:
        """The SMS backend where SMS_ROUTES names none: alias or dotted path (`SMS_BACKEND`)."""
        return str(self._setting("SMS_BACKEND", "console"))

    @property
    def SMS_ROUTES(self) -> str:
        """Backends per number prefix or country: `+7:smsaero,smsru;*:twilio` (`SMS_ROUTES`)."""
        return str(self._setting("SMS_ROUTES", "") or "")

    @property
    def SMS_TIMEOUT(self) -> float:
        """Seconds each HTTP request to a provider may take (`SMS_TIMEOUT`)."""
        return float(self._setting("SMS_TIMEOUT", 10.0))

    @property
    def SMS_MAX_ROUNDS(self) -> int:
        """Rounds over the whole route before a message fails, with a worker (`SMS_MAX_ROUNDS`)."""
        return int(self._setting("SMS_MAX_ROUNDS", 5))

    @property
    def SMS_RETRY_BACKOFF(self) -> int:
        """Seconds before the second round, doubling after each (`SMS_RETRY_BACKOFF`)."""
        return int(self._setting("SMS_RETRY_BACKOFF", 30))

    @property
    def BATCH(self) -> int:
        """Messages a worker claims and sends together; 1: one at a time (`DELIVERY_BATCH`)."""
        return int(self._setting("DELIVERY_BATCH", 32))

    @property
    def CONCURRENCY(self) -> int:
        """Sends a worker keeps in flight at once (`DELIVERY_CONCURRENCY`)."""
        return int(self._setting("DELIVERY_CONCURRENCY", 32))

    @property
    def SMS_CALLBACK_SECRET(self) -> str:
        """Secret part of the status-callback URLs; empty: refused (`SMS_CALLBACK_SECRET`)."""
        return str(self._setting("SMS_CALLBACK_SECRET", ""))

    @property
    def SMS_FILE_PATH(self) -> str:
        """Directory of the `file` backend (`SMS_FILE_PATH`)."""
        return str(self._setting("SMS_FILE_PATH", "sent_sms"))

    @property
    def SMS_ALLOW_DEV_BACKEND(self) -> bool:
        """Whether development backends may run with DEBUG off (`SMS_ALLOW_DEV_BACKEND`)."""
        return bool(self._setting("SMS_ALLOW_DEV_BACKEND", False))

    @property
    def RETENTION_DAYS(self) -> int:
        """Days sent and failed messages are kept (`DELIVERY_RETENTION_DAYS`)."""
        return int(self._setting("DELIVERY_RETENTION_DAYS", 30))

    @property
    def CODE_TTL(self) -> int:
        """Seconds a code lives, told to the providers that take it (`OTP_TTL`)."""
        return int(self._setting("OTP_TTL", 300))


delivery_settings = DeliverySettings()
