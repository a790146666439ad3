from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vouch.accounts.selectors import users_sharing_a_phone, users_sharing_an_invite_code
from vouch.audit.models import Kind
from vouch.audit.selectors import sign_ins_without_user
from vouch.core.selectors import Violations
from vouch.otp.selectors import (
    challenges_consumed_unsoundly,
    events_beyond_consumed_challenges,
    sign_ins_without_consumed_challenge,
)
from vouch.referrals.selectors import (
    users_in_referral_cycles,
    users_with_wrong_downline,
    users_with_wrong_referrals_count,
)

# (name, what the example ids are, the selector): one line of output each, in this order.
CHECKS: list[tuple[str, str, Callable[[], Violations]]] = [
    ("unique phones", "user ids", users_sharing_a_phone),
    ("unique invite codes", "user ids", users_sharing_an_invite_code),
    ("referral counts", "user ids", users_with_wrong_referrals_count),
    ("no referral cycles", "user ids", users_in_referral_cycles),
    ("downline levels", "user ids", users_with_wrong_downline),
    ("challenges consumed by a counted try", "challenge ids", challenges_consumed_unsoundly),
    (
        "each verification consumed a challenge",
        "audit event ids",
        lambda: events_beyond_consumed_challenges(kind=Kind.CODE_VERIFIED),
    ),
    (
        "each sign-in consumed a challenge",
        "audit event ids",
        lambda: events_beyond_consumed_challenges(kind=Kind.SIGNED_IN),
    ),
    (
        "sign-ins preceded by their code",
        "audit event ids",
        sign_ins_without_consumed_challenge,
    ),
    ("sign-ins have their user", "audit event ids", sign_ins_without_user),
]


class Command(BaseCommand):
    help = (
        "Check the data's invariants: unique phones and invite codes, referral counts, no "
        "referral cycle, downline levels, no code used twice or sign-in without one, no "
        "sign-in whose user vanished without a trace. One line per check; exit status 1 if "
        "any fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        width = max(len(name) for name, _ids, _check in CHECKS)
        failed = 0
        for name, ids, check in CHECKS:
            found = check()
            if found.ok:
                self.stdout.write(f"{name:<{width}}  ok")
                continue
            failed += 1
            examples = ", ".join(map(str, found.examples))
            self.stdout.write(f"{name:<{width}}  FAILED: {found.count} ({ids}: {examples})")
        if failed:
            raise CommandError(f"{failed} of {len(CHECKS)} checks failed.", returncode=1)
        self.stdout.write(f"All {len(CHECKS)} checks passed.")
