"""
The rows every sign-in writes (its challenge, audit events, tokens) and reads (its challenge,
its account), without the query compiler: most of the CPU an ORM statement costs goes to
building its SQL, which is the same every time. `rows_insert` and `row_first` build it once per
model, shape and database, and leave each value to its field, as the ORM does. `rows_update`
writes a batch of rows whose values mostly agree (a delivery worker's sent messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Case, Field, Model, Value, When
from django.db.models.functions import Cast

M = TypeVar("M", bound=Model)


@lru_cache(maxsize=64)
def _statement(model: type[Model], alias: str, rows: int) -> tuple[list[Field[Any, Any]], str]:
    """
    The fields given a value and the INSERT of `rows` rows, returning the primary key that
    the database draws (none when the rows come with theirs).
    """
    meta = model._meta
    auto = meta.auto_field
    fields = [field for field in meta.concrete_fields if field is not auto]
    ops = connections[alias].ops
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        + ", ".join([row] * rows)
    )
    if auto is not None:
        sql += f" RETURNING {ops.quote_name(auto.column)}"
    return fields, sql


def rows_insert(objs: Sequence[Model]) -> None:
    """
    Store new rows of one model in one INSERT, as `bulk_create` would: each field prepares
    its value (`pre_save`, then `get_db_prep_save`), each row gets the primary key the
    database drew, and no signal is sent. Needs INSERT ... RETURNING (PostgreSQL, SQLite
    3.35+).
    """
    if not objs:
        return
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields, sql = _statement(model, alias, len(objs))
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection)  # type: ignore[arg-type]
        for obj in objs
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if model._meta.auto_field is not None:
            for obj, (key,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = key
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def _column(model: type[Model], name: str, ops: Any) -> str:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return str(ops.quote_name(field.column))  # type: ignore[union-attr]


@lru_cache(maxsize=64)
def _select(
    model: type[Model], alias: str, equal: tuple[str, ...], order_by: tuple[str, ...]
) -> str:
    meta = model._meta
    ops = connections[alias].ops
    columns = ", ".join(ops.quote_name(field.column) for field in meta.concrete_fields)
    where = " AND ".join(f"{_column(model, name, ops)} = %s" for name in equal)
    order = ", ".join(
        _column(model, name.lstrip("-"), ops) + (" DESC" if name.startswith("-") else "")
        for name in order_by
    )
    sql = f"SELECT {columns} FROM {ops.quote_name(meta.db_table)} WHERE {where}"  # noqa: S608
    return sql + (f" ORDER BY {order}" if order else "") + " LIMIT 1"


def row_first(model: type[M], *, order_by: Sequence[str] = (), **equal: Any) -> M | None:
    """
    `model.objects.filter(**equal).order_by(*order_by).first()`, for plain equalities whose
    values are given as stored (no field prepares them: a phone in E.164, say): the whole row
    read through `raw()`, whose fields convert each value as the ORM does, or None.
    """
    alias = router.db_for_read(model)
    sql = _select(model, alias, tuple(equal), tuple(order_by))
    rows = model._default_manager.raw(sql, list(equal.values()), using=alias)
    return next(iter(rows), None)


def rows_update(objs: Sequence[Model], names: set[str]) -> None:
    """
    Write the fields `names` of several rows of one model, as their objects hold them, with
    one UPDATE. A field with the same value in every row is set as it is; only the fields that
    differ get a CASE over the rows (`bulk_update` gives every field one, and building them
    costs more than a batch's other statements together).
    """
    model = type(objs[0])
    alias = router.db_for_write(model)
    values: dict[str, Any] = {}
    for name in sorted(names):
        column: Any = model._meta.get_field(name)
        first = getattr(objs[0], name)
        if all(getattr(obj, name) == first for obj in objs[1:]):
            values[name] = first
            continue
        by_row: Any = Case(
            *(When(pk=obj.pk, then=Value(getattr(obj, name), output_field=column)) for obj in objs),
            output_field=column,
        )
        if connections[alias].features.requires_casted_case_in_updates:
            by_row = Cast(by_row, output_field=column)
        values[name] = by_row
    model._default_manager.using(alias).filter(pk__in=[obj.pk for obj in objs]).update(**values)
