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
from dataclasses import dataclass
from typing import Literal

from gen_migrate.generic.operations import Column, TableRef
from gen_migrate.generic.schema import Schema, TableSchema


def _key(ref: TableRef) -> tuple[str, str]:
    return (ref.schema, ref.name)


@dataclass(frozen=True)
class ColumnDiff:
    """One column that differs: ``missing`` (only expected has it), ``extra`` (only actual),
    ``type`` or ``nullability``; ``expected``/``actual`` are the two sides where they exist."""

    kind: Literal["missing", "extra", "type", "nullability"]
    name: str
    expected: Column | None
    actual: Column | None


def column_diffs(expected: TableSchema, actual: TableSchema) -> list[ColumnDiff]:
    """Column differences of two versions of one table: expected's columns in order, then the
    columns only ``actual`` has."""
    out: list[ColumnDiff] = []
    for name, col in expected.columns.items():
        other = actual.columns.get(name)
        if other is None:
            out.append(ColumnDiff("missing", name, col, None))
            continue
        if not col.type.same(other.type):
            out.append(ColumnDiff("type", name, col, other))
        if col.nullable != other.nullable:
            out.append(ColumnDiff("nullability", name, col, other))
    out += [
        ColumnDiff("extra", name, None, col)
        for name, col in actual.columns.items()
        if name not in expected.columns
    ]
    return out


def _nullability(col: Column) -> str:
    return "nullable" if col.nullable else "NOT NULL"


def diff_tables(expected: TableSchema, actual: TableSchema) -> list[str]:
    """Differences between two versions of one table, one line per column."""
    ref = expected.ref
    out: list[str] = []
    for d in column_diffs(expected, actual):
        want, got = d.expected, d.actual
        if d.kind == "missing" and want is not None:
            out.append(f"{ref}.{d.name}: column missing (expected {want.type.describe()})")
        elif d.kind == "extra" and got is not None:
            out.append(f"{ref}.{d.name}: unexpected column ({got.type.describe()})")
        elif d.kind == "type" and want is not None and got is not None:
            out.append(
                f"{ref}.{d.name}: type {got.type.describe()} ({got.type.pg or '?'}), "
                f"expected {want.type.describe()} ({want.type.pg or '?'})"
            )
        elif want is not None and got is not None:
            out.append(f"{ref}.{d.name}: {_nullability(got)}, expected {_nullability(want)}")
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
