"""Deciding the phase of a migration.

Downstream stores must be ready *before* Postgres changes. Additive changes (new tables and
columns, renames, widening types, defaults) must therefore run in ``pre``. Drops can wait: a
column Postgres no longer sends simply stays empty downstream until ``post`` removes it, and
keeping it until then lets readers finish with it.

``auto``: a migration whose operations are all additive is ``pre``; all destructive (drop_table,
drop_column), ``post``. A mixed one is split into ``<id>`` (pre: everything but the drops) and
``<id>.post`` (post: the drops), unless an operation after a drop touches what was dropped (drop
and re-add of a column, say): that order cannot be split, and the migration is refused with a
message to pass ``--phase pre`` or ``--phase post`` for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gen_migrate.errors import InputError
from gen_migrate.generic.migration import Migration, Phase
from gen_migrate.generic.operations import (
    DESTRUCTIVE_OPS,
    CreateTable,
    DropColumn,
    DropTable,
    Operation,
    RenameTable,
)

PhaseChoice = Literal["auto", "pre", "post"]
POST_SUFFIX = ".post"


def _touches(op: Operation) -> set[tuple[str, ...]]:
    """Objects an operation touches: ('t', table) and ('c', table, column)."""
    table = getattr(op, "table", None)
    if table is None:
        return set()
    key = table.qualified()
    out: set[tuple[str, ...]] = {("t", key)}
    if isinstance(op, RenameTable):
        out.add(("t", f"{table.schema}.{op.new_name}"))
    if isinstance(op, CreateTable):
        out |= {("c", key, c.name) for c in op.columns}
    for attr in ("column", "new_name", "a", "b"):
        value = getattr(op, attr, None)
        if isinstance(value, str):
            out.add(("c", key, value))
        elif value is not None and hasattr(value, "name"):
            out.add(("c", key, value.name))
    return out


def _dropped(op: DropTable | DropColumn) -> tuple[str, ...]:
    if isinstance(op, DropTable):
        return ("t", op.table.qualified())
    return ("c", op.table.qualified(), op.column)


def split_by_phase(migration: Migration, choice: PhaseChoice) -> list[Migration]:
    """Apply the phase choice: one migration, or a pre/post pair for a mixed ``auto``."""
    if choice != "auto":
        phase: Phase = choice
        return [migration.model_copy(update={"phase": phase})]
    ops: Sequence[Operation] = migration.operations
    drops = [op for op in ops if isinstance(op, DESTRUCTIVE_OPS)]
    rest = [op for op in ops if not isinstance(op, DESTRUCTIVE_OPS)]
    if not drops:
        return [migration.model_copy(update={"phase": "pre"})]
    if not rest:
        return [migration.model_copy(update={"phase": "post"})]
    for i, op in enumerate(ops):
        if not isinstance(op, DESTRUCTIVE_OPS):
            continue
        gone = _dropped(op)
        for later in ops[i + 1 :]:
            hit = _touches(later)
            if gone in hit or (gone[0] == "t" and any(h[:2] == ("c", gone[1]) for h in hit)):
                raise InputError(
                    f"migration {migration.id}: it drops {'.'.join(gone[1:])} and then changes "
                    f"it again ({later.op}), so its drops cannot be moved to the post phase: "
                    "capture it with --phase pre (or --phase post)"
                )
    pre = migration.model_copy(update={"phase": "pre", "operations": rest})
    post = migration.model_copy(
        update={"phase": "post", "operations": drops, "id": migration.id + POST_SUFFIX}
    )
    return [pre, post]
