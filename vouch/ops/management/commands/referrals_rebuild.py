"""`manage.py referrals_rebuild`: recompute the counts derived from the referral tree."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from vouch.referrals.services import referral_counts_rebuild


class Command(BaseCommand):
    help = (
        "Recompute every downline level from the referral tree, and each day's sign-ups and "
        "activations per invite code and per country from the users and referral rows (link "
        "visits and requested codes stay), in one transaction. For a database filled or "
        "edited by hand; activations wait until it is done."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        rebuilt = referral_counts_rebuild()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Rebuilt {rebuilt.levels} downline levels, {rebuilt.invite_days} invite code days "
            f"and {rebuilt.funnel_days} funnel days in {elapsed:.2f}s."
        )
