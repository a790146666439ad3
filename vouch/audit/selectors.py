"""Reads of the audit trail."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from vouch.audit.models import AuthEvent, Kind
from vouch.core.selectors import Violations, violations_of


def sign_ins_without_user() -> Violations:
    """
    `signed_in` events whose user is gone without a trace: the user no longer exists and no
    later `user_deleted` event of the same (masked) phone says they were deleted. Deleting a
    user empties the events' link, so a deletion is found by its phone and time. Both
    subqueries are anti-joins on indexed columns.
    """
    user_model = get_user_model()
    deleted_later = AuthEvent.objects.filter(
        kind=Kind.USER_DELETED, phone=OuterRef("phone"), created_at__gte=OuterRef("created_at")
    )
    user_exists = user_model.objects.filter(pk=OuterRef("user_id"))
    orphans = AuthEvent.objects.filter(kind=Kind.SIGNED_IN).filter(
        Q(user__isnull=True, phone__gt="") & ~Exists(deleted_later)
        | Q(user__isnull=True, phone="")
        | Q(user__isnull=False) & ~Exists(user_exists)
    )
    return violations_of(orphans.values_list("pk", flat=True))
