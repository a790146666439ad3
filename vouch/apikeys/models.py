"""
API keys for servers that call the API without a user. The key itself is never stored: the
row keeps its prefix (shown to tell keys apart) and a SHA-512 hash (djangorestframework-api-key).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    USERS_READ = "users:read", _("read users")
    USERS_WRITE = "users:write", _("create, change and delete users")
    REFERRALS_READ = "referrals:read", _("read referrals")
    WEBHOOKS = "webhooks", _("manage webhooks")


class ApiKey(AbstractAPIKey):
    # The library's fields, again with names in the reader's language.
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    name = models.CharField(
        _("name"),
        max_length=50,
        help_text=_("What the key is for, e.g. the server that uses it."),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("A revoked key stops working at once; this cannot be undone."),
    )
    expiry_date = models.DateTimeField(
        _("expires"),
        blank=True,
        null=True,
        help_text=_("After this time the key stops working. Empty: it does not expire."),
    )
    # A list of Scope values: a JSON list is the same on SQLite and PostgreSQL.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ("-created",)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
