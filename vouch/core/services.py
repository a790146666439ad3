"""
Housekeeping shared by every app: deleting old rows in short batches, and the rows of the
core app itself (rate-limit counters) and of the task queue's database backend.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet

from vouch.core import clock
from vouch.core.app_settings import core_settings
from vouch.core.models import LimitCounter

DEFAULT_BATCH_SIZE = 5000

# The longest window any limit uses (the daily failure cap). A counter whose window started
# before this can only ever be reset by its next hit, so deleting it changes nothing.
LONGEST_LIMIT_WINDOW = timedelta(days=1)


def delete_in_batches(
    queryset: QuerySet[Any], *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> int:
    """
    Delete the rows of `queryset` at most `batch_size` primary keys per DELETE, each batch in
    a transaction of its own, so no table stays locked for long whatever the backlog. Rows
    that cascade (or have their links set to null) go with their batch. Return how many rows
    of the queryset's model were deleted; with `dry_run`, how many would be.
    """
    counts = delete_in_batches_counted(queryset, batch_size=batch_size, dry_run=dry_run)
    return counts[queryset.model._meta.label]


def delete_in_batches_counted(
    queryset: QuerySet[Any], *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> Counter[str]:
    """
    `delete_in_batches`, returning the rows deleted per model label (`"app.Model"`), the
    cascaded ones included. With `dry_run` only the queryset's own model is counted.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model: type[Model] = queryset.model
    counts: Counter[str] = Counter({model._meta.label: 0})
    if dry_run:
        counts[model._meta.label] = queryset.count()
        return counts
    pks = queryset.order_by("pk").values_list("pk", flat=True)
    while True:
        # Read the next keys afresh: rows deleted by the last batch are gone, and a row that
        # stopped matching in between is judged by the same filter again.
        batch = list(pks[:batch_size])
        if not batch:
            return counts
        with transaction.atomic():
            _total, per_model = model._default_manager.filter(pk__in=batch).delete()
        counts.update(per_model)
        if len(batch) < batch_size:
            return counts


def limit_counters_prune(
    *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False, now_ms: int | None = None
) -> int:
    """Delete the database limiter's counters whose windows have passed; return how many."""
    if now_ms is None:
        now_ms = int(clock.now().timestamp() * 1000)
    cutoff_ms = now_ms - int(LONGEST_LIMIT_WINDOW.total_seconds() * 1000)
    expired = LimitCounter.objects.filter(window_start_ms__lt=cutoff_ms)
    return delete_in_batches(expired, batch_size=batch_size, dry_run=dry_run)


def task_results_prune(
    *, min_age_days: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> int | None:
    """
    Delete finished results of the database task backend (TASKS_BACKEND=database) that
    finished more than `min_age_days` (default TASK_RESULT_RETENTION_DAYS, 14) days ago, as
    `manage.py prune_db_task_results` would, but in batches. Results still waiting or running
    are kept. Return None with any other backend: its results are not in this database.
    """
    if core_settings.TASKS_BACKEND != "database":
        return None
    from django_tasks_db.models import DBTaskResult

    if min_age_days is None:
        min_age_days = core_settings.TASK_RESULT_RETENTION_DAYS

    finished = DBTaskResult.objects.finished().filter(
        finished_at__lte=clock.now() - timedelta(days=min_age_days)
    )
    return delete_in_batches(finished, batch_size=batch_size, dry_run=dry_run)
