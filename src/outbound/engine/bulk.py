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

import psycopg
from psycopg.rows import namedtuple_row, tuple_row
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

Row = Mapping[str, Any]
Returned = tuple[Any, ...]
WAS = "was_"  # a row's ``was_<column>``: the value the column must still hold (a guard)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def run(session: Session, sql: str, params: Mapping[str, Any], *, named: bool = False) -> list[Any]:
    """A psycopg statement (``%(name)b`` parameters) on the session's connection; its rows
    (tuples, or named tuples when ``named``)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor(row_factory=namedtuple_row if named else tuple_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    except psycopg.Error as exc:  # raised as SQLAlchemy raises it from its own statements
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


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
    """``source_columns`` for rows (mappings with the same keys)."""
    return source_columns(session, table, {name: [r[name] for r in rows] for name in names})


def source_columns(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any]]
) -> tuple[dict[str, str], str, dict[str, Any]]:
    """Each column's SQL expression, the ``FROM unnest(…) AS u(…)`` clause, the parameters.

    ``columns`` holds one list of values per column (``was_<column>`` for a guard), all of
    the same length. A column with one value for every row is sent once, not as an array.
    The names all come from the table's own columns; every value is a bound parameter.
    """
    dialect = session.get_bind().dialect
    exprs: dict[str, str] = {}
    arrays: list[tuple[str, str]] = []
    params: dict[str, Any] = {}
    for i, (name, given) in enumerate(columns.items()):
        values = list(given)
        if isinstance(next((v for v in values if v is not None), None), Enum):
            values = [None if v is None else v.value for v in values]
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


def update_columns(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    key: str = "id",
    returning: Sequence[str] = (),
) -> list[Returned]:
    """``update_rows`` for rows given column by column (every row sets the same columns):
    the hot path builds these lists directly, never a mapping per row."""
    if not columns or not columns[key]:
        return []
    names = [n for n in columns if n != key]
    changes = [n for n in names if not n.startswith(WAS)]
    guards = [n for n in names if n.startswith(WAS)]
    if is_postgres(session):
        return _update_pg(session, table, columns, key, changes, guards, returning)
    by_row = zip(*columns.values(), strict=True)
    rows = [dict(zip(columns, values, strict=True)) for values in by_row]
    return _update_other(session, table, rows, key, changes, guards, returning)


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
        shapes.setdefault(tuple(row), []).append(row)
    found: list[Returned] = []
    for names, group in shapes.items():
        if key not in names:
            raise ValueError(f"a row without its {key!r}")
        ordered = (key, *(n for n in names if n != key))
        columns = {name: [r[name] for r in group] for name in ordered}
        found += update_columns(session, table, columns, key=key, returning=returning)
    return found


def _update_pg(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    key: str,
    changes: Sequence[str],
    guards: Sequence[str],
    returning: Sequence[str],
) -> list[Returned]:
    ordered = {name: columns[name] for name in (key, *changes, *guards)}
    exprs, clause, params = source_columns(session, table, ordered)
    sets = ", ".join(f"{c} = {exprs[c]}" for c in changes)
    where = " AND ".join([f"t.{key} = {exprs[key]}"] + [_guard(g, exprs, columns) for g in guards])
    sql = f"UPDATE {table.name} AS t SET {sets}{clause} WHERE {where}"  # noqa: S608
    if returning:
        sql += " RETURNING " + ", ".join(f"t.{c}" for c in returning)
    return run(session, sql, params)


def _guard(name: str, exprs: Mapping[str, str], columns: Mapping[str, Sequence[Any]]) -> str:
    """``IS NULL`` where every row expects NULL: the planner can estimate that one (and use a
    partial index), while ``IS NOT DISTINCT FROM`` made it scan the whole table."""
    column = f"t.{_column(name)}"
    if all(v is None for v in columns[name]):
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
