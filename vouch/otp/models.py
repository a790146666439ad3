from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    TEST = "test", _("test number, not sent")
    # A code for an e-mail address that does not sign in to the phone's account: never sent.
    WITHHELD = "withheld", _("withheld, not sent")


class Challenge(models.Model):
    """
    One code sent to one phone. Only a keyed hash of the code is stored. The newest challenge
    of a phone is the only one that can sign in; `attempts` and `consumed_at` change only
    through conditional UPDATEs, so concurrent verifications cannot both succeed.
    """

    phone = models.CharField(_("phone"), max_length=20)
    region = models.CharField(_("country"), max_length=2, blank=True, default="")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    destination = models.CharField(_("destination"), max_length=254)
    code_hash = models.CharField(max_length=64)
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    consumed_at = models.DateTimeField(_("consumed at"), null=True, blank=True)
    invite_code = models.CharField(_("invite code"), max_length=32, blank=True, default="")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    message = models.OneToOneField(
        "delivery.Message",
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="challenge",
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )

    class Meta:
        verbose_name = _("code challenge")
        verbose_name_plural = _("code challenges")
        indexes = [
            models.Index(fields=["phone", "-created_at", "-id"], name="challenge_newest_idx"),
            # The conversion report reads a time range across every phone.
            models.Index(fields=["created_at"], name="challenge_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} challenge #{self.pk}"


class ConversionReport(Challenge):
    """The admin's conversion page (`vouch.otp.admin`): challenges seen as hourly numbers."""

    class Meta:
        proxy = True
        verbose_name = _("conversion report")
        verbose_name_plural = _("conversion report")
