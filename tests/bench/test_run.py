"""bench/run.py: the CPU-time reading and the statement-count check of `--quick`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench.scripts import bench_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    with bench_script("run") as module:
        yield module


def stat_line(comm: str, utime: int, stime: int) -> str:
    # proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority nice ...
    return f"4242 ({comm}) S 1 4242 4242 0 -1 4194560 1200 0 3 0 {utime} {stime} 77 88 20 0 1 0\n"


def test_cpu_ticks_adds_user_and_system_time(bench):
    assert bench.cpu_ticks(stat_line("postgres", 150, 25)) == 175


def test_cpu_ticks_ignores_the_children_columns(bench):
    # cutime and cstime (77, 88) are the reaped children's time, not the process's own.
    assert bench.cpu_ticks(stat_line("redis-server", 0, 0)) == 0


@pytest.mark.parametrize(
    "comm", ["gunicorn: worker [config.wsgi:application]", "a) S 1 2 3 (b", "x )", "(("]
)
def test_cpu_ticks_reads_past_a_command_name_with_spaces_and_parentheses(bench, comm):
    assert bench.cpu_ticks(stat_line(comm, 9, 1)) == 10


def test_cpu_ticks_reads_this_process(bench):
    stat = Path("/proc/self/stat")
    if not stat.exists():
        pytest.skip("no /proc here")
    assert bench.cpu_ticks(stat.read_text()) >= 0


def test_cpu_seconds_of_a_process_that_is_gone_is_none(bench):
    assert bench.cpu_seconds(2**31 - 1) is None


def test_cpu_delta_counts_a_process_first_seen_later_from_zero(bench):
    first = {10: 1.0, 11: 2.0}
    last = {10: 1.5, 11: 2.0, 12: 0.25}  # 12: a connection opened during the run
    assert bench.cpu_delta(first, last) == pytest.approx(0.75)


def test_cpu_delta_keeps_the_last_reading_of_a_process_that_ended(bench):
    # The meter keeps every pid's last reading; one that exited still counts up to then.
    assert bench.cpu_delta({10: 1.0}, {10: 1.4}) == pytest.approx(0.4)


def probe(queries: int, status: int = 200) -> dict:
    return {"queries": queries, "status": status}


def test_quick_passes_when_every_count_equals_the_baseline(bench):
    rows, ok = bench.compare({"a": probe(6), "b": probe(2)}, {"a": 6, "b": 2})
    assert ok
    assert rows == ["| a | 6 | 6 | ok |", "| b | 2 | 2 | ok |"]


def test_quick_fails_when_a_count_is_above_the_baseline(bench):
    rows, ok = bench.compare({"a": probe(7), "b": probe(2)}, {"a": 6, "b": 2})
    assert not ok
    assert rows[0] == "| a | 7 | 6 | FAIL: 1 more than the baseline |"


def test_quick_passes_a_count_below_the_baseline_and_says_so(bench):
    rows, ok = bench.compare({"a": probe(5)}, {"a": 6})
    assert ok
    assert "fewer" in rows[0]


def test_quick_fails_on_an_answer_outside_2xx(bench):
    rows, ok = bench.compare({"a": probe(3, status=429)}, {"a": 6})
    assert not ok
    assert "status 429" in rows[0]


def test_quick_fails_on_a_scenario_missing_from_either_side(bench):
    assert not bench.compare({"a": probe(6), "new": probe(1)}, {"a": 6})[1]
    assert not bench.compare({"a": probe(6)}, {"a": 6, "gone": 1})[1]


def test_the_committed_baseline_is_a_count_per_scenario(bench):
    baseline = json.loads(bench.BASELINE.read_text())
    assert baseline
    assert all(isinstance(n, int) and n > 0 for n in baseline.values())
    assert "request code, empty tables" in baseline
    assert "request code, immediate" in baseline


def test_the_worker_is_the_one_make_worker_starts(bench):
    makefile = (ROOT / "Makefile").read_text()
    assert bench.WORKER_CMD[0] == "manage.py"
    assert f"$(MANAGE) {bench.WORKER_CMD[1]}" in makefile


def test_rss_kb_reads_this_process(bench):
    assert bench.rss_kb(os.getpid()) > 1000


def test_rss_kb_of_a_process_that_is_gone_is_zero(bench):
    assert bench.rss_kb(2**22 + 12345) == 0


def test_export_text_shows_rows_rate_and_the_serving_workers_memory(bench):
    result = {
        "status": "200",
        "rows": 1_000_000,
        "mb": 98.76,
        "first_s": 0.05,
        "seconds": 20.0,
        "rows_per_s": 50_000.0,
        "cpu_s": 25.0,
        "cpu": {"web": 19.0, "worker": 0.1, "postgres": 5.9, "redis": 0.0},
        "rss_before": 90.0,
        "rss_peak": 95.5,
        "rss_after": 91.0,
    }
    text = bench.export_text({"name": "export.csv", "expected": 1_000_000, "result": result})
    assert text == (
        "| export.csv | 200 | 1,000,000 | 1,000,000 | 98.8 | 0.05 | 20.0 | 50,000 "
        "| 25.0 (19.0 / 5.9) | 90.0 → 95.5 → 91.0 |"
    )
