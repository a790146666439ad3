"""
Is step 1 (POST /api/users/authenticate/ {"phone": ...}) distinguishable by time for a phone
that has an account and one that has not? docs/security.md "No enumeration": same body, same status,
roughly the same time.

    .venv/bin/python bench/step1_timing.py [--requests 300] [--seed 1]

Runs Django in-process through django.test.Client on a throwaway SQLite file (or on
DATABASE_URL when it is set), with every OTP limit off. See bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from typing import Any, NamedTuple

from common import ENDPOINT, configure_environment, django_setup, otp_limits, quantile

WARMUP = 20
VARYING_FIELDS = ("phone", "destination")  # body fields that echo the phone asked for
VARYING_HEADERS = ("X-Request-ID", "Date")  # headers new with every answer


# --- statistics (standard library only) -------------------------------------------------------


def mann_whitney(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """
    Two-sided Mann-Whitney U test, normal approximation with tie correction.
    Return (U of a, z, p). Also usable as P(a > b) = U / (len(a) * len(b)).
    """
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        tied = j - i + 1
        tie_term += tied**3 - tied
        i = j + 1
    rank_sum_a = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return u, 0.0, 1.0
    z = (u - mean) / math.sqrt(variance)
    p = math.erfc(abs(z) / math.sqrt(2))
    return u, z, p


def bootstrap_median_difference(
    a: list[float], b: list[float], rounds: int, rng: random.Random
) -> tuple[float, float]:
    """95% percentile interval of median(a) - median(b)."""
    differences = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
        for _ in range(rounds)
    )
    return quantile(differences, 0.025), quantile(differences, 0.975)


# --- the measurement ----------------------------------------------------------------------------


def phones(count: int, rng: random.Random) -> list[str]:
    """`count` distinct valid Russian mobile numbers in E.164, in random order."""
    numbers = rng.sample(range(10_000_000), count)
    return [f"+7999{n:07d}" for n in numbers]


class Answer(NamedTuple):
    """An answer without what differs from request to request by design."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def comparable(status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> Answer:
    varying = {name.lower() for name in VARYING_HEADERS}
    return Answer(
        status,
        {k: v for k, v in body.items() if k not in VARYING_FIELDS},
        {k: v for k, v in headers if k.lower() not in varying},
    )


def differences(answer: Answer, first: Answer) -> dict[str, str]:
    """What of `answer` differs from `first`, by name: {"header Vary": "'a' (first answer 'b')"}."""
    found = {}
    if answer.status != first.status:
        found["status"] = f"{answer.status} (first answer {first.status})"
    for part, mine, theirs in (
        ("body field", answer.body, first.body),
        ("header", answer.headers, first.headers),
    ):
        for name in sorted(set(mine) | set(theirs)):
            this = repr(mine[name]) if name in mine else "absent"
            that = repr(theirs[name]) if name in theirs else "absent"
            if this != that:
                found[f"{part} {name}"] = f"{this} (first answer {that})"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests each way (N)")
    parser.add_argument("--seed", type=int, default=1, help="seed for phones, order, bootstrap")
    parser.add_argument("--bootstrap", type=int, default=5000, help="bootstrap resamples")
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 (test data and resampling, not secrets)

    with tempfile.TemporaryDirectory(prefix="vouch-bench-", ignore_cleanup_errors=True) as workdir:
        configure_environment(workdir, **otp_limits("0"))
        return measure(args.requests, rng, args.bootstrap)


def measure(n: int, rng: random.Random, rounds: int) -> int:
    django_setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from vouch.accounts.models import User
    from vouch.accounts.services import user_create

    call_command("migrate", verbosity=0, interactive=False)
    db = connection.settings_dict
    print(
        f"database: {connection.vendor} {db['NAME']}  limiter: "
        f"{'redis' if settings.REDIS_URL else 'database'}"
    )

    pool = phones(2 * n + 2 * WARMUP, rng)
    known, unknown = pool[:n], pool[n : 2 * n]
    warm_known, warm_unknown = pool[2 * n : 2 * n + WARMUP], pool[2 * n + WARMUP :]
    taken = set(User.objects.filter(phone__in=pool).values_list("phone", flat=True))
    if taken:
        print(f"error: {len(taken)} of the random phones already have accounts in this database")
        return 2
    for phone in known + warm_known:
        user_create(phone=phone)

    client = Client()

    def ask(phone: str) -> tuple[int, dict[str, Any], Answer]:
        started = time.perf_counter_ns()
        response = client.post(ENDPOINT, {"phone": phone}, content_type="application/json")
        elapsed = time.perf_counter_ns() - started
        body = response.json()
        return elapsed, body, comparable(response.status_code, body, list(response.items()))

    # Warm up caches, connections and lazy imports with phones of both kinds, not recorded.
    for a, b in zip(warm_known, warm_unknown, strict=True):
        ask(a)
        ask(b)

    # Interleave: pairs of one known and one unknown phone, in random order within each pair.
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    reference: Answer | None = None
    mismatches: list[str] = []
    differing: Counter[str] = Counter()  # what differed, in how many answers
    for k_phone, u_phone in zip(known, unknown, strict=True):
        pair = [("known", k_phone), ("unknown", u_phone)]
        rng.shuffle(pair)
        for kind, phone in pair:
            elapsed, body, answer = ask(phone)
            timings[kind].append(elapsed / 1000)  # microseconds
            if body.get("phone") != phone:
                mismatches.append(f"{kind} {phone}: body field phone {body.get('phone')!r}")
                differing["body field phone"] += 1
            if reference is None:
                reference = answer
            elif found := differences(answer, reference):
                differing.update(found.keys())
                details = "; ".join(f"{what} {text}" for what, text in found.items())
                mismatches.append(f"{kind} {phone}: {details}")

    k_times, u_times = timings["known"], timings["unknown"]
    k_med, u_med = statistics.median(k_times), statistics.median(u_times)
    diff = k_med - u_med
    low, high = bootstrap_median_difference(k_times, u_times, rounds, rng)
    u_stat, z, p = mann_whitney(k_times, u_times)
    p_greater = u_stat / (len(k_times) * len(u_times))

    print(f"requests: known {len(k_times)}, unknown {len(u_times)} (each phone asked once)")
    print(f"{'':8} {'median us':>10} {'p90 us':>10} {'mean us':>10}")
    for kind, values in timings.items():
        print(
            f"{kind:8} {statistics.median(values):10.1f} {quantile(values, 0.9):10.1f} "
            f"{statistics.fmean(values):10.1f}"
        )
    print(
        f"median difference (known - unknown): {diff:+.1f} us "
        f"({diff / u_med * 100:+.2f}% of the unknown median)"
    )
    print(
        f"bootstrap 95% interval of the difference ({rounds} resamples): "
        f"[{low:+.1f}, {high:+.1f}] us "
        f"([{low / u_med * 100:+.2f}%, {high / u_med * 100:+.2f}%])"
    )
    print(
        f"Mann-Whitney U = {u_stat:.0f}, z = {z:+.2f}, two-sided p = {p:.3f}; "
        f"P(known slower than unknown) = {p_greater:.3f} (0.5 = indistinguishable)"
    )
    if reference is not None:
        print(
            f"status {reference.status}; body apart from {', '.join(VARYING_FIELDS)}: "
            f"{reference.body}"
        )
    if mismatches:
        what = ", ".join(f"{name} ({count})" for name, count in differing.most_common())
        print(f"answers DIFFER in {len(mismatches)} requests: {what}; e.g.:")
        for line in mismatches[:5]:
            print(f"  {line}")
        return 1
    print(
        f"answers identical: for all {2 * n} requests the same status, every header apart from "
        f"{'/'.join(VARYING_HEADERS)} and every body field apart from {'/'.join(VARYING_FIELDS)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
