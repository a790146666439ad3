from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "vouch.referrals"
    label = "referrals"
    verbose_name = _("Referrals")

    def ready(self) -> None:
        from vouch.referrals import receivers  # noqa: F401  (keep downline levels on deletion)
