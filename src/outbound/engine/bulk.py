"""Set-based writes for the engine's hot path: one statement per batch on PostgreSQL.

The ORM would send one UPDATE per contact (and parse one giant multi-row INSERT per batch);
on PostgreSQL the rows travel instead as one array per column through ``unnest``: one round
trip and one plan whatever the batch size. The arrays go in binary, straight through the
driver (psycopg's text format checks every string for quoting: five times slower here). It
is the session's own connection, so the statements belong to the caller's transaction.
SQLite, in process, gets a plain ``executemany`` (one statement per row where rows must
come back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Row = Mapping[str, Any]
Returned = tuple[Any, ...]
WAS = "was_"  # a row's ``was_<column>``: the value the column must still hold (a guard)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def run(session: Session, sql: str, params: Mapping[str, Any]) -> list[Returned]:
    """A psycopg statement (``%(name)b`` parameters) on the session's connection; its rows."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _plain(value: Any) -> Any:
    """psycopg would send an enum by name; the columns store the value."""
    return value.value if isinstance(value, Enum) else value


@cache
def _pg_type(table: Table, column: str, dialect: Dialect) -> str:
    return str(table.c[column].type.compile(dialect=dialect))


def _column(name: str) -> str:
    return name.removeprefix(WAS)


def source(
    session: Session, table: Table, names: Sequence[str], rows: Sequence[Row]
) -> tuple[dict[str, str], str, dict[str, Any]]:
    """Each row key's SQL expression, the ``FROM unnest(…) AS u(…)`` clause, the parameters.

    A key with one value for every row is sent once, not as an array. The names all come
    from the table's own columns; every value is a bound parameter.
    """
    dialect = session.get_bind().dialect
    exprs: dict[str, str] = {}
    arrays: list[tuple[str, str]] = []
    params: dict[str, Any] = {}
    for i, name in enumerate(names):
        values = [r[name] for r in rows]
        if isinstance(next((v for v in values if v is not None), None), Enum):
            values = [_plain(v) for v in values]
        param, kind = f"c{i}", _pg_type(table, _column(name), dialect)
        if values.count(values[0]) == len(values):
            exprs[name], params[param] = f"CAST(%({param})b AS {kind})", values[0]
        else:
            arrays.append((name, f"CAST(%({param})b AS {kind}[])"))
            exprs[name], params[param] = f"u.{name}", values
    clause = ""
    if arrays:
        unnest = ", ".join(cast for _, cast in arrays)
        clause = f" FROM unnest({unnest}) AS u({', '.join(name for name, _ in arrays)})"
    return exprs, clause, params


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[Row],
    *,
    key: str = "id",
    returning: Sequence[str] = (),
) -> list[Returned]:
    """``UPDATE table SET … WHERE key = …`` for each row; rows may set different columns.

    A ``was_<column>`` key is a guard, not a change: the row is updated only while the
    column still holds that value (NULL matches NULL). Returns the ``returning`` columns of
    the rows updated.
    """
    shapes: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        shapes.setdefault(tuple(c for c in row if c != key), []).append(row)
    found: list[Returned] = []
    for names, group in shapes.items():
        changes = [n for n in names if not n.startswith(WAS)]
        guards = [n for n in names if n.startswith(WAS)]
        if is_postgres(session):
            found += _update_pg(session, table, group, key, changes, guards, returning)
        else:
            found += _update_other(session, table, group, key, changes, guards, returning)
    return found


def _update_pg(
    session: Session,
    table: Table,
    rows: Sequence[Row],
    key: str,
    changes: Sequence[str],
    guards: Sequence[str],
    returning: Sequence[str],
) -> list[Returned]:
    exprs, clause, params = source(session, table, (key, *changes, *guards), rows)
    sets = ", ".join(f"{c} = {exprs[c]}" for c in changes)
    where = " AND ".join([f"t.{key} = {exprs[key]}"] + [_guard(g, exprs, rows) for g in guards])
    sql = f"UPDATE {table.name} AS t SET {sets}{clause} WHERE {where}"  # noqa: S608
    if returning:
        sql += " RETURNING " + ", ".join(f"t.{c}" for c in returning)
    return run(session, sql, params)


def _guard(name: str, exprs: Mapping[str, str], rows: Sequence[Row]) -> str:
    """``IS NULL`` where every row expects NULL: the planner can estimate that one (and use a
    partial index), while ``IS NOT DISTINCT FROM`` made it scan the whole table."""
    column = f"t.{_column(name)}"
    if all(r[name] is None for r in rows):
        return f"{column} IS NULL"
    return f"{column} IS NOT DISTINCT FROM {exprs[name]}"


def _update_other(
    session: Session,
    table: Table,
    rows: Sequence[Row],
    key: str,
    changes: Sequence[str],
    guards: Sequence[str],
    returning: Sequence[str],
) -> list[Returned]:
    statement = (
        update(table)
        .where(
            table.c[key] == bindparam("_key"),
            *(table.c[_column(g)].is_not_distinct_from(bindparam(f"_{g}")) for g in guards),
        )
        .values({c: bindparam(f"_v_{c}") for c in changes})
    )
    many = [
        {"_key": r[key], **{f"_v_{c}": r[c] for c in changes}, **{f"_{g}": r[g] for g in guards}}
        for r in rows
    ]
    if not returning:
        session.execute(statement, many)
        return []
    with_returning = statement.returning(*(table.c[c] for c in returning))
    return [tuple(row) for params in many for row in session.execute(with_returning, params)]


def insert_sql(session: Session, table: Table, rows: Sequence[Row]) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: ``INSERT INTO table (…) SELECT … FROM unnest(…)`` and its parameters, for
    a caller to extend (``RETURNING``, or a ``WITH`` around it)."""
    columns = tuple(rows[0])
    exprs, clause, params = source(session, table, columns, rows)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(exprs[c] for c in columns)}{clause}"
    )
    return sql, params


def insert_rows(
    session: Session, table: Table, rows: Sequence[Row], *, returning: tuple[str, str]
) -> dict[Any, Any]:
    """Insert rows (all with the same columns); ``{first returned: second returned}``."""
    if not rows:
        return {}
    first, second = returning
    if is_postgres(session):
        sql, params = insert_sql(session, table, rows)
        return dict(run(session, f"{sql} RETURNING {first}, {second}", params))
    statement = insert(table).returning(table.c[first], table.c[second])
    return {a: b for a, b in session.execute(statement, [dict(r) for r in rows])}
