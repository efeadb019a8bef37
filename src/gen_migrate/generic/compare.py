"""Comparing two :class:`~gen_migrate.generic.schema.Schema` values, in human terms.

Used by the capture round trip (replayed generic files vs the live catalog) and by ``check``.
What is compared, per table: the set of columns (by name; positions are ignored, as ClickHouse
puts added columns elsewhere), each column's generic type (:meth:`GenericType.same`, so the
Postgres spelling is ignored) and nullability. Defaults are not compared: Postgres rewrites their
text (``'x'`` becomes ``'x'::text``, ``now()`` stays, casts are added or dropped), so comparing
them would report noise, and no downstream store depends on them. Primary keys are not compared
either: constraints added by ``ALTER TABLE … ADD PRIMARY KEY`` do not change columns and are not
replayed.
"""

from __future__ import annotations

from collections.abc import Iterable

from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema, TableSchema


def _key(ref: TableRef) -> tuple[str, str]:
    return (ref.schema, ref.name)


def diff_tables(expected: TableSchema, actual: TableSchema) -> list[str]:
    """Differences between two versions of one table, one line per column."""
    out: list[str] = []
    ref = expected.ref
    for name, col in expected.columns.items():
        other = actual.columns.get(name)
        if other is None:
            out.append(f"{ref}.{name}: column missing (expected {col.type.describe()})")
            continue
        if not col.type.same(other.type):
            out.append(
                f"{ref}.{name}: type {other.type.describe()} ({other.type.pg or '?'}), "
                f"expected {col.type.describe()} ({col.type.pg or '?'})"
            )
        if col.nullable != other.nullable:
            want = "nullable" if col.nullable else "NOT NULL"
            got = "nullable" if other.nullable else "NOT NULL"
            out.append(f"{ref}.{name}: {got}, expected {want}")
    for name, col in actual.columns.items():
        if name not in expected.columns:
            out.append(f"{ref}.{name}: unexpected column ({col.type.describe()})")
    return out


def diff_schemas(
    expected: Schema, actual: Schema, *, tables: Iterable[TableRef] | None = None
) -> list[str]:
    """Human lines naming table and column for every difference; empty when they agree.

    ``tables`` limits the comparison to those tables (default: every table of either side).
    """
    refs = set(expected.tables) | set(actual.tables) if tables is None else set(tables)
    out: list[str] = []
    for ref in sorted(refs, key=_key):
        want, got = expected.tables.get(ref), actual.tables.get(ref)
        if want is None and got is None:
            continue
        if got is None:
            out.append(f"{ref}: table missing")
        elif want is None:
            out.append(f"{ref}: unexpected table ({len(got.columns)} columns)")
        else:
            out += diff_tables(want, got)
    return out


def diff_types(expected: Schema, actual: Schema) -> list[str]:
    """Differences between the user types (enums with their values, domains as their base
    type) of two schemas, one line per type."""
    out: list[str] = []
    for ref in sorted(set(expected.types) | set(actual.types), key=_key):
        want, got = expected.types.get(ref), actual.types.get(ref)
        if got is None:
            out.append(f"type {ref}: missing")
        elif want is None:
            out.append(f"type {ref}: unexpected ({got.describe()})")
        elif not want.same(got):
            values = f" {got.values} vs {want.values}" if want.values or got.values else ""
            out.append(f"type {ref}: {got.describe()}, expected {want.describe()}{values}")
    return out
