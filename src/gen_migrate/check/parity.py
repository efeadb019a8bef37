"""Store parity: what a store has against what it should have, per table (sets, not positions).

Both sides are native column types by name, as :meth:`Target.live_columns` and
:meth:`Target.expected_columns` give them (pipeline-only columns already left out), so a column
type differs exactly when the store's spelling differs from what the target's type map makes of
the reference schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from gen_migrate.generic.files import MigrationFile
from gen_migrate.generic.operations import RenameTable, TableRef
from gen_migrate.generic.schema import Schema


def diff_columns(
    store: str,
    ref: TableRef,
    expected: dict[str, str] | None,
    live: dict[str, str] | None,
    reference: str = "Postgres",
) -> list[str]:
    """One line per missing, extra or wrongly typed column of one table in one store.

    ``reference`` names where ``expected`` comes from (``Postgres``, or ``the generic
    migrations`` when no source database is checked).
    """
    if expected is None and live is None:
        return []
    if live is None:
        return [f"table {ref} is missing in {store}"]
    if expected is None:
        return [f"table {ref} exists in {store} but not in {reference}: drop it or capture it"]
    out: list[str] = []
    for name, want in sorted(expected.items()):
        got = live.get(name)
        if got is None:
            out.append(f"column {ref.name}.{name} is missing in {store} (expected {want})")
        elif got != want:
            out.append(f"column {ref.name}.{name} is {got} in {store}, expected {want}")
    for name, got in sorted(live.items()):
        if name not in expected:
            out.append(f"column {ref.name}.{name} ({got}) exists in {store} but not in {reference}")
    return out


def managed_refs(schemas: Sequence[Schema], keep: Callable[[TableRef], bool]) -> list[TableRef]:
    """Sorted union of the tables of ``schemas`` that ``keep(ref)`` accepts."""
    refs: set[TableRef] = set()
    for s in schemas:
        refs |= {r for r in s.tables if keep(r)}
    return sorted(refs, key=lambda r: (r.schema, r.name))


def historical_refs(files: Iterable[MigrationFile]) -> set[TableRef]:
    """Every table any generic migration names, under any of its names over time.

    A table dropped or renamed away in Postgres may still be in a store (the drop was never
    applied there); asking the store about these names too finds such leftovers.
    """
    found: set[TableRef] = set()
    for mf in files:
        for op in mf.migration.operations:
            table = getattr(op, "table", None)
            if isinstance(table, TableRef):
                found.add(table)
            if isinstance(op, RenameTable):
                found.add(TableRef(schema=op.table.schema, name=op.new_name))
    return found
