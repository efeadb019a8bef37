"""Comparing column maps: what a store has against what it should have (sets, not positions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema, TableSchema


def diff_columns(
    store: str, ref: TableRef, expected: dict[str, str] | None, live: dict[str, str] | None
) -> list[str]:
    """One line per missing, extra or wrongly typed column of one table in one store."""
    if expected is None and live is None:
        return []
    if live is None:
        return [f"table {ref} is missing in {store}"]
    if expected is None:
        return [f"table {ref} exists in {store} but not in Postgres"]
    out: list[str] = []
    for name, want in expected.items():
        got = live.get(name)
        if got is None:
            out.append(f"column {ref.name}.{name} is missing in {store} (expected {want})")
        elif got != want:
            out.append(f"column {ref.name}.{name} is {got} in {store}, expected {want}")
    for name, got in live.items():
        if name not in expected:
            out.append(f"column {ref.name}.{name} ({got}) exists in {store} but not in Postgres")
    return out


def capture_problems(
    generic: TableSchema | None, live: TableSchema | None, ref: TableRef
) -> list[str]:
    """What the live Postgres table has that the generic files do not describe, and back."""
    if generic is None and live is None:
        return []
    if generic is None:
        return [f"table {ref} exists in Postgres but in no generic migration: run capture"]
    if live is None:
        return [f"table {ref} is in the generic migrations but not in Postgres"]
    out: list[str] = []
    for name, col in live.columns.items():
        other = generic.columns.get(name)
        if other is None:
            out.append(
                f"column {ref.name}.{name} exists in Postgres but in no generic migration: "
                "run capture"
            )
        elif not col.type.same(other.type):
            out.append(
                f"column {ref.name}.{name} is {col.type.describe()} in Postgres, "
                f"{other.type.describe()} in the generic migrations"
            )
        elif col.nullable != other.nullable:
            got = "nullable" if col.nullable else "NOT NULL"
            out.append(
                f"column {ref.name}.{name} is {got} in Postgres, not in the generic migrations"
            )
    for name in generic.columns:
        if name not in live.columns:
            out.append(f"column {ref.name}.{name} is in the generic migrations but not in Postgres")
    return out


def managed_refs(schemas: Sequence[Schema], keep: Callable[[TableRef], bool]) -> list[TableRef]:
    """Sorted union of the tables of ``schemas`` that ``keep(ref)`` accepts."""
    refs: set[TableRef] = set()
    for s in schemas:
        refs |= {r for r in s.tables if keep(r)}
    return sorted(refs, key=lambda r: (r.schema, r.name))
