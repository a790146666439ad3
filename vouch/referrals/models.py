"""
What the referral programme is measured by. The tree itself is on the user (`invited_by`,
`invite_activated_at`, `activated_invite_code`); here is what is derived from it or seen
beside it:

- `InviteDay` and `FunnelDay`: the funnel counted as it happens, per invite code and UTC day,
  and per UTC day and country (the phone's), so that reports read a few rows per day;
- `InviteVisitor`: for the current days only, a keyed hash per visitor of an invite link, enough
  to count each one once (no IP address, user agent or cookie is stored);
- `Referral`: what an activation knew that the user row does not keep (country, a keyed digest
  of the client's network, whether it came with the sign-up);
- `DownlineLevel`: how many members each user has at each depth below them, kept up to date on
  every change of the tree, so that a downline of any size is read in one small query;
- `ReferralFlag`: a referral that looks self-made, with the reason, until staff review it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class InviteDay(models.Model):
    """The funnel of one invite code on one UTC day."""

    code = models.CharField(_("invite code"), max_length=6)
    day = models.DateField(_("day"))
    # Distinct visitors of the invite link page.
    visits = models.PositiveIntegerField(_("link visits"), default=0)
    # Codes requested (step 1) with this invite code.
    codes_requested = models.PositiveIntegerField(_("codes requested"), default=0)
    # Accounts created by a sign-in that activated this code.
    sign_ups = models.PositiveIntegerField(_("sign-ups"), default=0)
    # Activations of this code, at sign-up or later.
    activations = models.PositiveIntegerField(_("activations"), default=0)

    class Meta:
        verbose_name = _("invite code day")
        verbose_name_plural = _("invite code days")
        constraints = [
            models.UniqueConstraint(fields=("code", "day"), name="referrals_invite_day_code_day")
        ]
        indexes = [models.Index(fields=("day",), name="referrals_invite_day_day")]

    def __str__(self) -> str:
        return f"{self.code} {self.day}"


class FunnelDay(models.Model):
    """
    The funnel of all invite codes on one UTC day in one country (of the phone, ISO 3166
    alpha-2). Link visits are not tied to a phone: they are counted under the country "".
    """

    day = models.DateField(_("day"))
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    visits = models.PositiveIntegerField(_("link visits"), default=0)
    codes_requested = models.PositiveIntegerField(_("codes requested"), default=0)
    sign_ups = models.PositiveIntegerField(_("sign-ups"), default=0)
    activations = models.PositiveIntegerField(_("activations"), default=0)

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        constraints = [
            models.UniqueConstraint(fields=("day", "country"), name="referrals_funnel_day_country")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.country or '-'}"


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


class Referral(models.Model):
    """One activation of an invite code, beside the invitee's row that records it."""

    invitee = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invitee"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="referral",
    )
    # Of the invitee's phone (ISO 3166 alpha-2), "" when it has none.
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    # Keyed digest of the client's network prefix at activation, compared to find many
    # referrals from one network; cleared once too old to matter. "" when unknown.
    network = models.CharField(_("network digest"), max_length=64, blank=True, default="")
    at_sign_up = models.BooleanField(_("at sign-up"), default=False)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self) -> str:
        return str(self.invitee_id)


class DownlineLevel(models.Model):
    """`members` users stand `depth` levels below `user` (1: the users who activated theirs)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="downline_levels",
    )
    depth = models.PositiveIntegerField(_("depth"))
    members = models.PositiveIntegerField(_("members"), default=0)

    class Meta:
        verbose_name = _("downline level")
        verbose_name_plural = _("downline levels")
        constraints = [
            models.UniqueConstraint(fields=("user", "depth"), name="referrals_downline_user_depth")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @{self.depth}: {self.members}"


class FlagReason(models.TextChoices):
    SAME_NETWORK = "same_network", _("many referrals from one network")
    BURST = "burst", _("many referrals in a short time")
    PHONE_RANGE = "phone_range", _("phone in the inviter's number range")
    FAST_CHAIN = "fast_chain", _("chain grows too fast")


class ReferralFlag(models.Model):
    """A referral that looks self-made, and why; staff mark it reviewed."""

    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invitee"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=16, choices=FlagReason.choices)
    # The figures behind the reason (e.g. {"referrals": 12, "window_minutes": 10}).
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("flagged at"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("referral flag")
        verbose_name_plural = _("referral flags")
        constraints = [
            models.UniqueConstraint(
                fields=("invitee", "reason"), name="referrals_flag_invitee_reason"
            )
        ]
        indexes = [
            # The review queue: open flags newest first, then the reviewed ones.
            models.Index(
                fields=("reviewed_at", "-created_at", "-id"), name="referrals_flag_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.invitee_id}"
