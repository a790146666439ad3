"""
Endpoints of the host app, the events recorded for them (the outbox) and their deliveries:
one per event and endpoint, retried until delivered or failed.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    # `whsec_<base64>`: the Standard Webhooks form. Kept as it is: every delivery is signed
    # with it.
    secret = models.CharField(_("secret"), max_length=120)
    event_types = models.JSONField(_("event types"), default=list)
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    disabled_reason = models.CharField(_("disabled reason"), max_length=300, blank=True)
    # Since when every delivery attempt has failed; null after any success.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("id",)

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    # The `webhook-id` of every delivery of this event: `msg_<random>`.
    id = models.CharField(primary_key=True, max_length=40, editable=False)
    type = models.CharField(_("type"), max_length=40)
    payload = models.JSONField(_("data"), encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When a pending delivery is due: its next try, or the end of a worker's claim on it.
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-id",)
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class Attempt(models.Model):
    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    started_at = models.DateTimeField(_("started"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ("started_at", "id")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
