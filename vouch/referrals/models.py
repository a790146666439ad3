"""
Visits of the invite link page, counted without keeping who visited: per code and UTC day the
number of distinct visitors, and for the current days only a keyed hash per visitor, enough to
count each one once. No IP address, user agent or cookie is stored.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InviteVisitDay(models.Model):
    code = models.CharField(_("invite code"), max_length=6)
    day = models.DateField(_("day"))
    visits = models.PositiveIntegerField(_("visits"), default=0)

    class Meta:
        verbose_name = _("invite link visits of a day")
        verbose_name_plural = _("invite link visits per day")
        constraints = [
            models.UniqueConstraint(fields=("code", "day"), name="referrals_visit_day_code_day")
        ]
        indexes = [models.Index(fields=("day",), name="referrals_visit_day_day")]

    def __str__(self) -> str:
        return f"{self.code} {self.day}: {self.visits}"


class InviteVisitor(models.Model):
    # HMAC-SHA256 of (client network, user agent, code) under a key of the day: yesterday's
    # digests cannot be linked to today's, and none can be turned back into an address.
    day = models.DateField(_("day"))
    digest = models.CharField(_("digest"), max_length=64)

    class Meta:
        verbose_name = _("invite link visitor of a day")
        verbose_name_plural = _("invite link visitors of a day")
        constraints = [
            models.UniqueConstraint(fields=("day", "digest"), name="referrals_visitor_day_digest")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.digest[:8]}"
