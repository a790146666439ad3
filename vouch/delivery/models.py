from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


FINAL_STATUSES = (Status.SENT, Status.DELIVERED, Status.FAILED)


class Message(models.Model):
    """
    One message to one destination (the outbox). `body` and `code` are kept only while the
    message waits to be sent, or for good with a development backend: a code never stays in
    clear once a real provider has it.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    destination = models.CharField(_("destination"), max_length=254)
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    body = models.TextField(_("text"), blank=True, default="")
    code = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    provider = models.CharField(_("provider"), max_length=100, blank=True, default="")
    provider_message_id = models.CharField(
        _("provider message id"), max_length=128, blank=True, default=""
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    rounds = models.PositiveSmallIntegerField(_("delivery rounds"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True, default="")
    cost = models.DecimalField(_("cost"), max_digits=12, decimal_places=5, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=8, blank=True, default="")
    segments = models.PositiveSmallIntegerField(_("segments"), null=True, blank=True)
    encoding = models.CharField(_("encoding"), max_length=8, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)  # a worker's claim
    # A message that cannot arrive in time is worthless (a code past its lifetime).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["-created_at"], name="message_created_idx"),
            models.Index(
                fields=["provider", "provider_message_id"], name="message_provider_id_idx"
            ),
            # What a worker's batch looks for: the few queued rows among every kept one.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(status="queued"),
                name="message_queued_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try of one provider at one message: routing and retries leave one row each."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("sent")
        TEMPORARY = "temporary", _("temporary failure")
        PERMANENT = "permanent", _("permanent failure")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempt_log")
    provider = models.CharField(_("provider"), max_length=100)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    error = models.CharField(_("error"), max_length=300, blank=True, default="")
    provider_message_id = models.CharField(max_length=128, blank=True, default="")
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ("started_at", "id")

    def __str__(self) -> str:
        return f"{self.provider}: {self.outcome}"
