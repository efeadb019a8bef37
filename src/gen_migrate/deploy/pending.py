"""What is pending on a target: integrity of applied files, phase order, the ``before`` schema.

Phases follow the GitLab order: ``pre`` → app pre-deploy migrations → deploy → ``post`` → app
post-deploy migrations. Within one deploy every ``pre`` migration runs before every ``post`` one,
so a ``pre`` migration normally overtakes an older ``post`` one of the same release. Two cases
are refused unless ``--allow-out-of-order``:

- ``post`` while an older ``pre`` migration is still pending (the pre phase was skipped or
  failed: a drop would run before the change that precedes it);
- ``pre`` overtaking an older pending ``post`` migration that touches one of its tables (the
  order of the two changes on that table would differ from the order Postgres saw).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from gen_migrate.dialects.base import AppliedMigration
from gen_migrate.errors import RefusedError
from gen_migrate.generic.files import MigrationFile
from gen_migrate.generic.migration import Phase
from gen_migrate.generic.operations import Operation, RenameTable, TableRef
from gen_migrate.generic.schema import Schema


def verify_applied(
    files: Sequence[MigrationFile],
    applied: dict[str, AppliedMigration],
    target: str,
    directory: Path,
) -> None:
    """Refuse when a migration recorded on ``target`` has a changed or missing file."""
    by_id = {mf.migration.id: mf for mf in files}
    for mid, am in sorted(applied.items()):
        mf = by_id.get(mid)
        if mf is None:
            raise RefusedError(
                f"{directory / (mid + '.json')}: applied to target {target} but missing from "
                f"{directory}: restore it (applied sha256:{am.checksum})"
            )
        if mf.checksum != am.checksum:
            raise RefusedError(
                f"{mf.path}: changed after it was applied to target {target} "
                f"(applied sha256:{am.checksum}, file sha256:{mf.checksum}): restore the file "
                "and put the change in a new migration"
            )


def done_ids(applied: dict[str, AppliedMigration]) -> set[str]:
    """Ids whose every step is recorded."""
    return {mid for mid, am in applied.items() if am.complete}


def pending(files: Sequence[MigrationFile], done: set[str], phase: Phase) -> list[MigrationFile]:
    """Migrations of ``phase`` not yet complete, in file order."""
    return [mf for mf in files if mf.migration.phase == phase and mf.migration.id not in done]


def tables_touched(ops: Iterable[Operation]) -> set[TableRef]:
    """Tables an operation list changes (both names of a renamed table)."""
    out: set[TableRef] = set()
    for op in ops:
        table = getattr(op, "table", None)
        if isinstance(table, TableRef):
            out.add(table)
            if isinstance(op, RenameTable):
                out.add(TableRef(schema=table.schema, name=op.new_name))
    return out


def check_order(files: Sequence[MigrationFile], done: set[str], phase: Phase, target: str) -> None:
    """Raise :class:`RefusedError` for the out-of-order cases described in the module doc."""
    order = {mf.migration.id: i for i, mf in enumerate(files)}
    todo = pending(files, done, phase)
    other: Phase = "post" if phase == "pre" else "pre"
    older = pending(files, done, other)
    for mf in todo:
        idx = order[mf.migration.id]
        mine = tables_touched(mf.migration.operations)
        for o in older:
            if order[o.migration.id] >= idx:
                break
            if phase == "pre" and not (mine & tables_touched(o.migration.operations)):
                continue
            raise RefusedError(
                f"target {target}: {phase} migration {mf.migration.id} would run before the "
                f"older pending {other} migration {o.migration.id}"
                + (": run `apply --phase pre` first" if phase == "post" else " on the same table")
                + ", or pass --allow-out-of-order"
            )


def before_schema(files: Sequence[MigrationFile], present: set[str], upto: str) -> Schema:
    """The generic schema the store has just before ``upto`` runs: the replay, in file order, of
    every migration in ``present`` (applied on the target or run earlier in this deploy)."""
    schema = Schema()
    for mf in files:
        if mf.migration.id == upto:
            continue
        if mf.migration.id in present:
            schema.apply_all(mf.migration.operations)
    return schema
