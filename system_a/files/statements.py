"""The writes on every file's path, each one statement on PostgreSQL: a guarded transition of
a file with its history row, and an upload's row with its first history rows.

One round trip instead of a read, BEGIN, the statements and COMMIT, and no query built by the
ORM's compiler, which took longer to build these statements than PostgreSQL took to run them
(docs/benchmarks.md). Every value is still prepared by its model field, as the ORM would; only
names from the models and the code go into the text. The unit tier's SQLite, which has no
data-modifying WITH, runs the same writes through the ORM in a transaction.

``files.services`` decides what each transition is; this module only writes it.
"""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F

from files.models import File, FileEvent

UNFLUSHED = "(SELECT set_config('synchronous_commit', 'off', true)) AS unflushed"
"""Joined into a statement that is a transaction of its own, so that its commit does not wait
for the disk. For records whose loss in a database crash only makes the relay or the sweeper
send an attempt again, which the guarded services make harmless.
https://www.postgresql.org/docs/current/wal-async-commit.html"""


def _event_insert(
    event: FileEvent, *, connection: BaseDatabaseWrapper, event_sql: Mapping[str, str] | None
) -> tuple[str, list[Any]]:
    """``INSERT INTO <history> (...) SELECT ...`` for ``event`` and its parameters, to be
    completed with a FROM clause that names the file's row ``changed``: the event's file is
    that row's, and so is any field given in ``event_sql`` as an SQL expression over it."""
    quote = connection.ops.quote_name
    fields = [field for field in FileEvent._meta.local_concrete_fields if not field.primary_key]
    computed = {"file": f"changed.{quote(File._meta.pk.column)}", **(event_sql or {})}
    # Only names from the models and the code go into the text; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(FileEvent._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"SELECT {', '.join(computed.get(field.name, '%s') for field in fields)} "
    )
    params = [
        field.get_db_prep_save(getattr(event, field.attname), connection)
        for field in fields
        if field.name not in computed
    ]
    return sql, params


def file_insert(*, file: File, events: Sequence[FileEvent]) -> None:
    """INSERT ``file`` (setting its ``pk``) and its first history ``events``, together.

    On PostgreSQL one statement, the file's INSERT in a WITH clause whose RETURNING feeds the
    events' (one round trip, not four: BEGIN, two INSERTs, COMMIT, on the path of every
    upload); elsewhere the ORM's statements in a transaction.
    """
    connection = connections[File.objects.db]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=File.objects.db):
            file.save(force_insert=True)
            for event in events:
                event.file_id = file.pk
            FileEvent.objects.bulk_create(events)
        return
    quote = connection.ops.quote_name
    # As the ORM's INSERT prepares each value (SQLInsertCompiler), without building a query.
    fields = [field for field in File._meta.local_concrete_fields if not field.primary_key]
    insert_params = [
        field.get_db_prep_save(field.pre_save(file, add=True), connection) for field in fields
    ]
    insert_sql = (
        f"INSERT INTO {quote(File._meta.db_table)} "  # noqa: S608 - names and placeholders
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(File._meta.pk.column)}"
    )
    logged = [_event_insert(event, connection=connection, event_sql=None) for event in events]
    # Each event's INSERT reads a row of the previous one's: the sub-statements of a WITH run
    # in no given order, and the events are to be numbered in theirs.
    ctes = [f"changed AS ({insert_sql})", "logged_0 AS (SELECT 1)"]
    ctes += [
        f"logged_{i + 1} AS ({insert}FROM changed, (SELECT 1 FROM logged_{i} LIMIT 1) AS after "  # noqa: S608
        "RETURNING 1)"
        for i, (insert, _) in enumerate(logged)
    ]
    sql = (
        f"WITH {', '.join(ctes)} "  # noqa: S608 - names and placeholders
        f"SELECT {quote(File._meta.pk.column)} FROM changed"
    )
    params = [*insert_params, *(param for _, event_params in logged for param in event_params)]
    with (
        transaction.mark_for_rollback_on_error(using=File.objects.db),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None  # an INSERT that did not raise returned its row
    file.pk = row[0]
    file._state.adding = False
    file._state.db = File.objects.db


@dataclass(frozen=True)
class Add:
    """A transition's value: the column's own value plus ``by``."""

    by: int


@functools.cache
def _file_fields() -> dict[str, Any]:
    """``File``'s concrete fields by name, and its primary key as ``pk``: looked up once, not
    on every write."""
    fields: dict[str, Any] = {field.name: field for field in File._meta.concrete_fields}
    fields["pk"] = File._meta.pk
    return fields


def _unflushed(*, flush: bool, connection: BaseDatabaseWrapper) -> bool:
    """Whether a write asked not to wait for the disk may skip it: only as a transaction of its
    own, since the setting would weaken an enclosing transaction of the caller's too."""
    return not flush and not connection.in_atomic_block


def _update_sql(
    *,
    where: Mapping[str, Any],
    values: Mapping[str, Any],
    connection: BaseDatabaseWrapper,
    unflushed: bool = False,
) -> tuple[str, list[Any]]:
    """``UPDATE <files> SET ... WHERE ...``: each value plain or ``Add``, each condition an
    equality (``IS NULL`` for ``None``), every value prepared by its model field as the ORM
    would; ``unflushed``: its commit does not wait for the disk (``UNFLUSHED``). Built here
    because the ORM takes longer to build this one statement than PostgreSQL takes to run it,
    twice on the path of every file (docs/benchmarks.md)."""
    quote = connection.ops.quote_name
    fields = _file_fields()
    sets, conditions, params = [], [], []
    for name, value in values.items():
        column = quote(fields[name].column)
        if isinstance(value, Add):
            sets.append(f"{column} = {column} + %s")
            params.append(value.by)
        else:
            sets.append(f"{column} = %s")
            params.append(fields[name].get_db_prep_save(value, connection))
    for name, value in where.items():
        column = quote(fields[name].column)
        if value is None:
            conditions.append(f"{column} IS NULL")
        else:
            conditions.append(f"{column} = %s")
            params.append(fields[name].get_db_prep_value(value, connection))
    table = quote(File._meta.db_table)
    source = f" FROM {UNFLUSHED}" if unflushed else ""
    sql = f"UPDATE {table} SET {', '.join(sets)}{source} WHERE {' AND '.join(conditions)}"  # noqa: S608
    return sql, params


def file_update(*, where: dict[str, Any], values: dict[str, Any], flush: bool = True) -> bool:
    """The guarded ``File.objects.filter(**where).update(**values)``, with no history row (a
    record such as ``sent_at``, not a transition). True if the row changed. ``flush=False``:
    the commit does not wait for the disk, as in ``file_transition``."""
    connection = connections[File.objects.db]
    if connection.vendor != "postgresql":
        return bool(File.objects.filter(**where).update(**values))
    sql, params = _update_sql(
        where=where,
        values=values,
        connection=connection,
        unflushed=_unflushed(flush=flush, connection=connection),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount) > 0


def file_transition(
    *,
    where: dict[str, Any],
    values: dict[str, Any],
    event: FileEvent,
    event_sql: Mapping[str, str] | None = None,
    returning: Sequence[str] = (),
    flush: bool = True,
) -> dict[str, Any] | None:
    """The guarded ``File.objects.filter(**where).update(**values)`` (``where`` names the
    file's ``pk``; a value may add to its column, ``Add``) and, if it changed the row, the
    row's history ``event`` (its ``file_id`` set), committed together. Returns the changed
    row's ``returning`` fields (an empty dict when none are asked for), or ``None`` when the
    row did not change.

    ``event_sql``: fields of ``event`` whose value is an SQL expression over the changed row,
    named ``changed`` (the attempt number a claim has just counted). ``flush=False``: the
    commit does not wait for the disk (``UNFLUSHED``), unless the transition runs inside a
    transaction of the caller's, whose commit it must not weaken.

    On PostgreSQL all of it is one statement, the UPDATE in a WITH clause whose RETURNING feeds
    the INSERT and the answer: one round trip, not five (a read, BEGIN, UPDATE, INSERT,
    COMMIT), on the path of every file (docs/benchmarks.md). Elsewhere (the unit tier's SQLite
    has no data-modifying WITH), the same statements in a transaction.
    """
    using = File.objects.db
    connection = connections[using]
    quote = connection.ops.quote_name
    insert, event_params = _event_insert(event, connection=connection, event_sql=event_sql)
    if connection.vendor != "postgresql":
        orm_values = {
            name: F(name) + value.by if isinstance(value, Add) else value
            for name, value in values.items()
        }
        with transaction.atomic(using=using), connection.cursor() as cursor:
            if not File.objects.filter(**where).update(**orm_values):
                return None
            table = quote(File._meta.db_table)
            row_id = quote(File._meta.pk.column)
            cursor.execute(
                f"{insert}FROM {table} AS changed WHERE changed.{row_id} = %s",
                [*event_params, where["pk"]],
            )
            return File.objects.filter(pk=where["pk"]).values(*returning).get() if returning else {}
    update_sql, update_params = _update_sql(
        where=where,
        values=values,
        connection=connection,
        unflushed=_unflushed(flush=flush, connection=connection),
    )
    fields = _file_fields()
    answer = ", ".join(quote(fields[name].column) for name in returning) or "1"
    sql = (
        f"WITH changed AS ({update_sql} RETURNING *), "  # noqa: S608 - names and placeholders
        f"logged AS ({insert}FROM changed) "
        f"SELECT {answer} FROM changed"
    )
    with (
        transaction.mark_for_rollback_on_error(using=using),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [*update_params, *event_params])
        row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(returning, row, strict=True)) if returning else {}
