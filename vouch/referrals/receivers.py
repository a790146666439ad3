"""Downline levels follow deletions of users, however they are deleted."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from vouch.accounts.services import referral_tree_lock
from vouch.referrals.downline import downline_detach


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def _user_deleting(sender: Any, *, instance: Any, **kw: Any) -> None:
    # Sent inside the deletion's transaction (`user_delete`, the admin and a queryset's
    # `delete` all run in one) before any row goes, while the tree is still whole.
    referral_tree_lock()
    downline_detach(user_id=instance.pk)
