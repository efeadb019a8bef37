"""Catalog fallback: operations from what the catalog says a statement did.

Used for DDL whose text cannot be normalised (``DO`` blocks, functions, dynamic SQL). The event
trigger stored each touched table's columns right after the command; the difference between the
working schema (everything captured before) and that snapshot becomes operations. The catalog
cannot tell a rename from a drop and an add: a column that vanished while one of the same type
appeared is recorded as both, with a warning that says how to make it an explicit rename.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gen_migrate.capture.pgtypes import TypeRegistry, parse_type
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    DropColumn,
    DropTable,
    Operation,
    SetNullable,
    TableRef,
)
from gen_migrate.generic.safety import classify
from gen_migrate.generic.schema import Schema

ColumnRows = Sequence[Mapping[str, Any]]


def column_from_catalog(row: Mapping[str, Any], registry: TypeRegistry) -> Column:
    """A generic column from one snapshot row (``name``, ``type``, ``notnull``, ``default``,
    ``identity``, ``generated``)."""
    identity = {"a": "always", "d": "by_default"}.get(str(row.get("identity") or ""))
    generated = row.get("default") if row.get("generated") == "s" else None
    return Column(
        name=str(row["name"]),
        type=parse_type(str(row["type"]), registry),
        nullable=not row["notnull"],
        default=None if generated is not None else row.get("default"),
        identity=identity,  # type: ignore[arg-type]
        generated=generated,
    )


def table_ops(
    schema: Schema,
    ref: TableRef,
    snapshot: ColumnRows,
    registry: TypeRegistry,
    warn: Callable[[str], None],
    *,
    where: str,
) -> list[Operation]:
    """Operations that turn ``schema``'s version of ``ref`` into ``snapshot``."""
    after = {str(r["name"]): column_from_catalog(r, registry) for r in snapshot}
    if ref not in schema.tables:
        return [CreateTable(table=ref, columns=list(after.values()))]
    before = schema.tables[ref].columns
    ops: list[Operation] = []
    gone = [n for n in before if n not in after]
    new = [n for n in after if n not in before]
    for name in gone:
        ops.append(DropColumn(table=ref, column=name, type=before[name].type))
    for name in new:
        ops.append(AddColumn(table=ref, column=after[name]))
    for old in gone:
        for name in new:
            if before[old].type.same(after[name].type):
                warn(
                    f"{where}: {ref}.{old} vanished and {ref}.{name} "
                    f"({after[name].type.describe()}) appeared; recorded as drop + add. "
                    f"If it was a rename, write it as "
                    f"`ALTER TABLE {ref} RENAME COLUMN {old} TO {name}` in the migration "
                    f"(or replace the two operations with a rename_column in the generic file "
                    f"and run `gen-migrate hash`)"
                )
                break
    for name, col in after.items():
        prev = before.get(name)
        if prev is None:
            continue
        if not prev.type.same(col.type):
            ops.append(
                AlterColumnType(
                    table=ref,
                    column=name,
                    old_type=prev.type,
                    new_type=col.type,
                    safety=classify(prev.type, col.type),
                )
            )
        if prev.nullable != col.nullable:
            ops.append(SetNullable(table=ref, column=name, nullable=col.nullable))
    return ops


def dropped_tables(schema: Schema, drops: Sequence[Mapping[str, Any]]) -> list[DropTable]:
    """``drop_table`` for every table a ``sql_drop`` event names that the schema knows."""
    ops: list[DropTable] = []
    for d in drops:
        addr = d.get("address") or []
        if d.get("object_type") == "table" and len(addr) == 2:
            ref = TableRef(schema=str(addr[0]), name=str(addr[1]))
            if ref in schema.tables:
                ops.append(DropTable(table=ref))
    return ops
