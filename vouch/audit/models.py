from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CODE_REQUESTED = "code_requested", _("code requested")
    CODE_REFUSED = "code_refused", _("code request refused")
    CODE_SENT = "code_sent", _("code sent")
    CODE_WITHHELD = "code_withheld", _("code withheld")
    CODE_SEND_FAILED = "code_send_failed", _("code failed to send")
    CODE_VERIFIED = "code_verified", _("code verified")
    CODE_REJECTED = "code_rejected", _("code rejected")
    PHONE_LOCKED = "phone_locked", _("phone locked")
    SIGNED_IN = "signed_in", _("signed in")
    SIGN_IN_REFUSED = "sign_in_refused", _("sign-in refused")
    PHONE_PROVEN = "phone_proven", _("phone proven, other sessions ended")
    INVITE_ACTIVATED = "invite_activated", _("invite activated")
    INVITE_REFUSED = "invite_refused", _("invite refused")
    ADMIN_LOCKED = "admin_locked", _("admin sign-in locked")
    TOKEN_REUSED = "token_reused", _("refresh token reused")
    LOGGED_OUT = "logged_out", _("logged out")
    USER_CREATED = "user_created", _("user created")
    USER_UPDATED = "user_updated", _("user updated")
    USER_DELETED = "user_deleted", _("user deleted")
    API_KEY_CREATED = "api_key_created", _("API key created")
    API_KEY_REVOKED = "api_key_revoked", _("API key revoked")


class AuthEvent(models.Model):
    """
    One thing that happened to a sign-in or an account. The phone is masked (last four digits
    visible); codes and tokens are never recorded.
    """

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=64, blank=True, default="")
    phone = models.CharField(_("phone (masked)"), max_length=32, blank=True, default="")
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True, default="")
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("auth event")
        verbose_name_plural = _("auth events")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["-created_at"], name="authevent_time_idx"),
            models.Index(fields=["kind", "-created_at"], name="authevent_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome}".strip()
