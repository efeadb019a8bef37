"""Capture completeness: does replaying ``generic_migrations/`` give the live Postgres schema?

A Postgres migration that ran but was never captured (or a change made by hand) shows up as a
column or table Postgres has and the generic files do not, and back. Compared per managed table:
the set of columns, each column's generic type and its nullability (defaults and positions are
not compared, see :mod:`gen_migrate.generic.compare`).
"""

from __future__ import annotations

from collections.abc import Callable

from gen_migrate.check.counting import QueryCount, counting_cursor
from gen_migrate.config import Config
from gen_migrate.errors import StepFailedError
from gen_migrate.generic.compare import column_diffs
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import TableSchema

GENERIC = "the generic migrations"


def capture_problems(
    generic: TableSchema | None, live: TableSchema | None, ref: TableRef
) -> list[str]:
    """What the live Postgres table has that the generic files do not describe, and back."""
    if generic is None and live is None:
        return []
    if generic is None:
        return [f"table {ref} exists in Postgres but in no generic migration: run capture"]
    if live is None:
        return [f"table {ref} is in {GENERIC} but not in Postgres"]
    out: list[str] = []
    # The generic replay is what is expected; Postgres is what is.
    for d in sorted(column_diffs(generic, live), key=lambda d: (d.kind == "missing", d.name)):
        col, other = d.actual, d.expected
        if d.kind == "extra":
            out.append(
                f"column {ref.name}.{d.name} exists in Postgres but in no generic migration: "
                "run capture"
            )
        elif d.kind == "missing":
            out.append(f"column {ref.name}.{d.name} is in {GENERIC} but not in Postgres")
        elif d.kind == "type" and col is not None and other is not None:
            out.append(
                f"column {ref.name}.{d.name} is {col.type.describe()} in Postgres, "
                f"{other.type.describe()} in {GENERIC}: run capture"
            )
        elif col is not None:
            got = "nullable" if col.nullable else "NOT NULL"
            out.append(f"column {ref.name}.{d.name} is {got} in Postgres, not in {GENERIC}")
    return out


def postgres_schema(
    config: Config, keep: Callable[[TableRef], bool], count: QueryCount
) -> dict[TableRef, TableSchema]:
    """The live tables of ``[source] schemas`` that ``keep`` accepts (two catalog queries,
    counted into ``count``). A database that cannot be reached is a :class:`StepFailedError`."""
    import psycopg

    from gen_migrate.capture.catalog import introspect_schema

    dsn = config.source.dsn
    assert dsn is not None
    try:
        with psycopg.connect(dsn, cursor_factory=counting_cursor(count)) as conn:
            schema = introspect_schema(conn, config.source.schemas, keep, overrides=config.types)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepFailedError(f"cannot read the source database: {first}") from None
    return schema.tables
