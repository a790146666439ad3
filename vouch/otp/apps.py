from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OtpConfig(AppConfig):
    name = "vouch.otp"
    label = "otp"
    verbose_name = _("One-time codes")

    def ready(self) -> None:
        from vouch.otp import checks, receivers  # noqa: F401  (checks and signal receivers)
