"""
The counts that can be derived again from the referral tree and the referral rows, recomputed
in SQL on SQLite and PostgreSQL alike: every downline level, and each day's sign-ups and
activations per invite code (`InviteDay`) and per country (`FunnelDay`). Link visits and
requested codes are seen only as they happen and stay as they are.

Plain functions of a database connection and table names, so that the data migration runs
them against its historical tables and `referral_counts_rebuild` against the current ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The recomputed levels, `levels(user_id, depth, members)`, of every user in the tree. The
# walk down from the roots (users invited by nobody) reaches every user once and never one on
# a cycle, so the walk up from each reached user to the root cannot loop: it yields one row
# per (user, ancestor), with the ancestor's distance, and the rows are then counted.
LEVELS_CTE = """
reached(id, parent) AS (
    SELECT id, invited_by_id FROM {users} WHERE invited_by_id IS NULL
    UNION ALL
    SELECT u.id, u.invited_by_id FROM {users} u JOIN reached r ON u.invited_by_id = r.id
),
up(ancestor, depth) AS (
    SELECT parent, 1 FROM reached WHERE parent IS NOT NULL
    UNION ALL
    SELECT p.invited_by_id, c.depth + 1 FROM up c JOIN {users} p ON p.id = c.ancestor
    WHERE p.invited_by_id IS NOT NULL
),
levels(user_id, depth, members) AS (
    SELECT ancestor, depth, COUNT(*) FROM up GROUP BY ancestor, depth
)
"""

_LEVELS_INSERT_SQL = (
    "WITH RECURSIVE"
    + LEVELS_CTE
    + """
INSERT INTO {downline} (user_id, depth, members)
SELECT user_id, depth, members FROM levels ORDER BY user_id, depth
"""
)

# The users in the tree whose stored levels differ from the recomputed ones (a missing row
# counts as 0), each once, with their number; the smallest ids first. Users on a cycle have
# no levels to compare with: the check of cycles reports them.
WRONG_LEVELS_SQL = (
    "WITH RECURSIVE"  # noqa: S608
    + LEVELS_CTE
    + """,
diff(user_id, depth, n) AS (
    SELECT user_id, depth, members FROM levels
    UNION ALL
    SELECT d.user_id, d.depth, -d.members FROM {downline} d JOIN reached r ON r.id = d.user_id
),
wrong(user_id) AS (
    SELECT DISTINCT user_id FROM diff GROUP BY user_id, depth HAVING SUM(n) <> 0
)
SELECT user_id, COUNT(*) OVER () FROM wrong ORDER BY user_id LIMIT %s
"""
)

# The UTC day of an activation, as each database stores a DateField.
_DAY = {
    "postgresql": "(u.invite_activated_at AT TIME ZONE 'UTC')::date",
    "sqlite": "date(u.invite_activated_at)",
}

_ACTIVATIONS = """
FROM {users} u LEFT JOIN {referrals} r ON r.invitee_id = u.id
WHERE u.activated_invite_code IS NOT NULL AND u.invite_activated_at IS NOT NULL
"""
_SIGN_UPS = "SUM(CASE WHEN r.at_sign_up THEN 1 ELSE 0 END)"

_INVITE_DAYS_CLEAR_SQL = (
    "UPDATE {invite_days} SET sign_ups = 0, activations = 0 WHERE sign_ups <> 0 OR activations <> 0"
)
_INVITE_DAYS_SQL = (
    "INSERT INTO {invite_days} (code, day, visits, codes_requested, sign_ups, activations) "
    "SELECT u.activated_invite_code, {day}, 0, 0, "
    + _SIGN_UPS
    + ", COUNT(*)"
    + _ACTIVATIONS
    + "GROUP BY u.activated_invite_code, {day} ORDER BY 1, 2 "
    "ON CONFLICT (code, day) DO UPDATE "
    "SET sign_ups = excluded.sign_ups, activations = excluded.activations"
)
_FUNNEL_DAYS_CLEAR_SQL = (
    "UPDATE {funnel_days} SET sign_ups = 0, activations = 0 WHERE sign_ups <> 0 OR activations <> 0"
)
_FUNNEL_DAYS_SQL = (
    "INSERT INTO {funnel_days} (day, country, visits, codes_requested, sign_ups, activations) "
    "SELECT {day}, COALESCE(r.country, ''), 0, 0, "
    + _SIGN_UPS
    + ", COUNT(*)"
    + _ACTIVATIONS
    + "GROUP BY {day}, COALESCE(r.country, '') ORDER BY 1, 2 "
    "ON CONFLICT (day, country) DO UPDATE "
    "SET sign_ups = excluded.sign_ups, activations = excluded.activations"
)


@dataclass(frozen=True)
class Tables:
    """The database tables the counts are read from and written to."""

    users: str
    downline: str
    referrals: str
    invite_days: str
    funnel_days: str


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild wrote: level rows, and the day rows given sign-ups and activations."""

    levels: int
    invite_days: int
    funnel_days: int


def sql(connection: Any, template: str, tables: Tables) -> str:
    """`template` with its table names quoted for `connection` and the UTC day expression."""
    quote = connection.ops.quote_name
    return template.format(
        users=quote(tables.users),
        downline=quote(tables.downline),
        referrals=quote(tables.referrals),
        invite_days=quote(tables.invite_days),
        funnel_days=quote(tables.funnel_days),
        day=_DAY[connection.vendor],
    )


def levels_rebuild(connection: Any, tables: Tables) -> int:
    """Replace every downline level by the one recomputed from the tree; return the rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql(connection, "DELETE FROM {downline}", tables))
        cursor.execute(sql(connection, _LEVELS_INSERT_SQL, tables))
        # SQLite answers -1 for the rows of an INSERT that starts with WITH.
        cursor.execute(sql(connection, "SELECT COUNT(*) FROM {downline}", tables))
        return cursor.fetchone()[0]


def days_rebuild(connection: Any, tables: Tables) -> tuple[int, int]:
    """
    Set each day's sign-ups and activations, per invite code and per country, to those of the
    users and referral rows now stored (an activation with no referral row counts under the
    country "" and not as a sign-up); keep visits and requested codes. Return the day rows
    written per code and per country.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql(connection, _INVITE_DAYS_CLEAR_SQL, tables))
        cursor.execute(sql(connection, _INVITE_DAYS_SQL, tables))
        invite_days = cursor.rowcount
        cursor.execute(sql(connection, _FUNNEL_DAYS_CLEAR_SQL, tables))
        cursor.execute(sql(connection, _FUNNEL_DAYS_SQL, tables))
        funnel_days = cursor.rowcount
    return invite_days, funnel_days


def counts_rebuild(connection: Any, tables: Tables) -> Rebuilt:
    """Both rebuilds; the caller holds the transaction (and, live, the tree's lock)."""
    levels = levels_rebuild(connection, tables)
    invite_days, funnel_days = days_rebuild(connection, tables)
    return Rebuilt(levels=levels, invite_days=invite_days, funnel_days=funnel_days)
