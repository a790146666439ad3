"""
The downline levels (`DownlineLevel`) kept in step with the referral tree, in the transaction
that changes it and under the tree's lock (`referral_tree_lock`).

A user who joins the tree below an inviter brings their own downline along: each ancestor of
the inviter (the inviter at distance 0) gains the user at depth distance + 1 and each of the
user's levels d at depth distance + 1 + d. A deleted user takes themselves and their downline
off their ancestors the same way. Each change is a fixed number of statements whatever the
depth of the tree: a longer chain writes more rows, not more statements.
"""

from __future__ import annotations

from django.db import connection

from vouch.accounts.models import User
from vouch.referrals.models import DownlineLevel, FunnelDay, InviteDay, Referral
from vouch.referrals.rebuild import Tables

# `chain`: the ancestors of the user {start} (that user at distance k = 0) with their
# distances; `walk`, the same users once each (UNION stops at a repeat), bounds it, so that a
# cycle written into the table by hand cannot make it run for ever under the tree's lock.
# `own`: the member itself (depth 0) and its levels, the rows that move with it.
_CHAIN_AND_OWN = """
walk(id, parent) AS (
    SELECT id, invited_by_id FROM {users} WHERE id = {start}
    UNION
    SELECT u.id, u.invited_by_id FROM {users} u JOIN walk w ON u.id = w.parent
),
chain(id, parent, k) AS (
    SELECT id, invited_by_id, 0 FROM {users} WHERE id = {start}
    UNION ALL
    SELECT u.id, u.invited_by_id, c.k + 1 FROM {users} u JOIN chain c ON u.id = c.parent
    WHERE c.k + 1 < (SELECT COUNT(*) FROM walk)
),
own(d, n) AS (
    SELECT 0, 1
    UNION ALL
    SELECT depth, members FROM {downline} WHERE user_id = %s AND members > 0
)
"""

# One upsert, its rows in key order so that writers lock shared rows in one order.
_ATTACH_SQL = (
    "WITH RECURSIVE"
    + _CHAIN_AND_OWN.replace("{start}", "%s")
    + """
INSERT INTO {downline} (user_id, depth, members)
SELECT c.id, c.k + 1 + o.d, o.n FROM chain c CROSS JOIN own o WHERE 1 = 1
ORDER BY 1, 2
ON CONFLICT (user_id, depth) DO UPDATE SET members = {downline}.members + excluded.members
"""
)

_INVITER_OF = "(SELECT invited_by_id FROM {users} WHERE id = %s)"

_DETACH_SQL = (
    "WITH RECURSIVE"  # noqa: S608
    + _CHAIN_AND_OWN.replace("{start}", _INVITER_OF)
    + """,
loss(user_id, depth, n) AS (
    SELECT c.id, c.k + 1 + o.d, o.n FROM chain c CROSS JOIN own o
)
UPDATE {downline}
SET members = CASE WHEN {downline}.members > loss.n THEN {downline}.members - loss.n ELSE 0 END
FROM loss
WHERE {downline}.user_id = loss.user_id AND {downline}.depth = loss.depth
"""
)

_EMPTIED_SQL = """
WITH RECURSIVE chain(id, parent) AS (
    SELECT id, invited_by_id FROM {users}
    WHERE id = (SELECT invited_by_id FROM {users} WHERE id = %s)
    UNION
    SELECT u.id, u.invited_by_id FROM {users} u JOIN chain c ON u.id = c.parent
)
DELETE FROM {downline} WHERE members = 0 AND user_id IN (SELECT id FROM chain)
"""

_UNLINK_SQL = "UPDATE {users} SET invited_by_id = NULL WHERE invited_by_id = %s"


def _sql(template: str) -> str:
    quote = connection.ops.quote_name
    return template.format(
        users=quote(User._meta.db_table), downline=quote(DownlineLevel._meta.db_table)
    )


def downline_attach(*, member_id: int, inviter_id: int) -> None:
    """
    Count `member_id` and its downline on every level of `inviter_id` and of the inviter's
    ancestors, now that the member has activated the inviter's code. One statement.
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql(_ATTACH_SQL), [inviter_id, inviter_id, member_id])


def downline_detach(*, user_id: int) -> None:
    """
    Take `user_id` and its downline off the levels of its ancestors, drop the levels left
    empty, and unlink its referrals, who become roots of their own trees and keep their own
    levels. Three statements, in the transaction that deletes the user, under the tree's lock.
    Unlinking here rather than leaving it to the deletion's `SET NULL` keeps the tree as the
    levels now describe it when several users of one branch are deleted together.
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql(_DETACH_SQL), [user_id, user_id, user_id])
        cursor.execute(_sql(_EMPTIED_SQL), [user_id])
        cursor.execute(_sql(_UNLINK_SQL), [user_id])


def current_tables() -> Tables:
    """The tables of the current models, for the rebuild and its integrity check."""
    return Tables(
        users=User._meta.db_table,
        downline=DownlineLevel._meta.db_table,
        referrals=Referral._meta.db_table,
        invite_days=InviteDay._meta.db_table,
        funnel_days=FunnelDay._meta.db_table,
    )
