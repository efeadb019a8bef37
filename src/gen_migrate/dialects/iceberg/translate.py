"""Generic operations → Iceberg steps: one step per operation, one catalog commit per step.

Translation needs no catalog: it replays the migration onto the generic schema it starts from
and maps every column through the type map. In Iceberg only primary-key columns are required
(they become the identifier fields when every one of them may identify); every other column is
optional, so rows from the CDC stream and old data files always fit. What only the live table
knows (its current identifier set) is read when a step runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from gen_migrate.dialects.base import MigrationPlan, Refusal, Step
from gen_migrate.dialects.iceberg import payloads as p
from gen_migrate.dialects.iceberg.state import step_key
from gen_migrate.dialects.iceberg.types import can_identify, iceberg_type, promotion_refusal
from gen_migrate.generic import operations as ops
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.schema import Schema, TableSchema


@dataclass(frozen=True)
class Policy:
    """What a target's config decides for translation."""

    namespace: str = "default"
    table_template: str = "{table}"
    type_map: dict[str, str] = field(default_factory=dict)
    purge: bool = False
    incompatible_type_change: str = "refuse"
    set_not_null: str = "refuse"

    def table_name(self, ref: ops.TableRef) -> str:
        """The Iceberg table name of a source table."""
        return self.table_template.format(table=ref.name, schema=ref.schema)


@dataclass
class _Out:
    """What one operation produced."""

    title: str = ""
    payload: p.Payload | None = None
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    column: str | None = None


_CAST = re.compile(r"^(.*?)::[\w .\"\[\]()]+$", re.S)
_INT = re.compile(r"^-?\d+$")
_NUM = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def literal_default(expr: str | None, ice_type: str) -> Any:
    """The Python value of a constant Postgres default for an Iceberg type, or ``None`` when the
    default is not a constant Iceberg can hold (``now()``, a sequence, …)."""
    if expr is None:
        return None
    text = expr.strip()
    while True:
        while text.startswith("(") and text.endswith(")"):
            text = text[1:-1].strip()
        m = _CAST.match(text)
        if not m:
            break
        text = m.group(1).strip()
    if ice_type == "string":
        if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
            return text[1:-1].replace("''", "'")
        return None
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        text = text[1:-1].strip()
    if ice_type in ("int", "long"):
        if not _INT.match(text):
            return None
        bits = 31 if ice_type == "int" else 63
        number = int(text)
        return number if -(2**bits) <= number < 2**bits else None
    if ice_type in ("float", "double"):
        return float(text) if _NUM.match(text) else None
    if m := re.match(r"^decimal\((\d+), (\d+)\)$", ice_type):
        if not _NUM.match(text):
            return None
        precision, scale = int(m.group(1)), int(m.group(2))
        try:
            value = Decimal(text).quantize(Decimal(1).scaleb(-scale))
        except InvalidOperation:
            return None
        return value if len(value.as_tuple().digits) <= precision else None
    if ice_type == "boolean":
        return {"true": True, "false": False, "t": True, "f": False}.get(text.lower())
    return None


class _Translator:
    def __init__(self, migration: Migration, before: Schema, policy: Policy) -> None:
        self.migration = migration
        self.schema = before.copy()
        self.policy = policy

    def ice(self, ty: Any) -> str:
        return iceberg_type(ty, self.policy.type_map)

    def name(self, ref: ops.TableRef) -> str:
        return self.policy.table_name(ref)

    def create(self, op: ops.CreateTable) -> _Out:
        cols = [
            p.IceColumn(c.name, self.ice(c.type), required=c.name in op.primary_key)
            for c in op.columns
        ]
        types = {c.name: c.type for c in cols}
        ident: tuple[str, ...] = tuple(op.primary_key)
        out = _Out(f"create table {self.name(op.table)}")
        if ident and not all(can_identify(types.get(c, "")) for c in ident):
            out.notes.append(
                f"{op.table}: primary key ({', '.join(ident)}) has a float/double or nested "
                "column: no identifier fields"
            )
            ident = ()
        out.payload = p.CreateTable(self.name(op.table), tuple(cols), ident)
        return out

    def drop(self, op: ops.DropTable) -> _Out:
        purge = self.policy.purge
        out = _Out(f"{'purge' if purge else 'drop'} table {self.name(op.table)}")
        out.payload = p.DropTable(self.name(op.table), purge=purge)
        if not purge:
            out.notes.append(f"{self.name(op.table)}: data files stay (policy drop, not purge)")
        return out

    def rename_table(self, op: ops.RenameTable) -> _Out:
        new = self.name(ops.TableRef(schema=op.table.schema, name=op.new_name))
        old = self.name(op.table)
        out = _Out(f"rename table {old} to {new}")
        out.payload = p.RenameTable(old, new)
        return out

    def update(self, op: Any, title: str, *calls: p.SchemaCall) -> _Out:
        out = _Out(title)
        out.payload = p.UpdateSchema(self.name(op.table), tuple(calls))
        return out

    def add(self, op: ops.AddColumn) -> _Out:
        c = op.column
        ty = self.ice(c.type)
        default = literal_default(c.default, ty)
        out = self.update(
            op, f"add column {self.name(op.table)}.{c.name}", p.AddColumn(c.name, ty, default)
        )
        where = f"{self.name(op.table)}.{c.name}"
        if c.default is not None and default is None:
            out.notes.append(
                f"{where}: default {c.default!r} is not a constant Iceberg can hold: "
                "old rows read NULL"
            )
        if not c.nullable:
            out.notes.append(
                f"{where}: NOT NULL in Postgres, optional in Iceberg"
                + (" with the default as initial value" if default is not None else "")
            )
        return out

    def drop_column(self, op: ops.DropColumn) -> _Out:
        ts = self.schema.table(op.table)
        out = self.update(
            op, f"drop column {self.name(op.table)}.{op.column}", p.DeleteColumn(op.column)
        )
        if op.column in ts.primary_key:
            out.notes.append(
                f"{self.name(op.table)}.{op.column}: "
                "leaves the identifier fields in the same update"
            )
        return out

    def rename_column(self, op: ops.RenameColumn) -> _Out:
        return self.update(
            op,
            f"rename column {self.name(op.table)}.{op.column} to {op.new_name}",
            p.RenameColumn(op.column, op.new_name),
        )

    def swap(self, op: ops.SwapColumns) -> _Out:
        return self.update(
            op,
            f"swap columns {self.name(op.table)}.{op.a} and {op.b}",
            p.SwapColumns(op.a, op.b),
        )

    def retype(self, op: ops.AlterColumnType) -> _Out:
        ts = self.schema.table(op.table)
        old = self.ice(ts.column(op.column).type)
        new = self.ice(op.new_type)
        where = f"{self.name(op.table)}.{op.column}"
        title = f"change type of {where} to {new}"
        if old == new:
            return _Out(title, notes=[f"{where}: already {new} in Iceberg: nothing to do"])
        reason = promotion_refusal(old, new)
        if reason is None:
            return self.update(op, title, p.UpdateType(op.column, new))
        if self.policy.incompatible_type_change == "new_column":
            if op.column in ts.primary_key:
                return _Out(title, refusal=f"{reason}; an identifier field cannot be replaced")
            out = self.update(
                op,
                f"replace {where} ({old}) by a new {new} column",
                p.DeleteColumn(op.column),
                p.AddColumn(op.column, new),
            )
            out.notes.append(
                f"{where}: {reason}; policy new_column: a new field replaces it, "
                "values written before read NULL (old snapshots keep them)"
            )
            return out
        return _Out(title, refusal=reason)

    def nullable(self, op: ops.SetNullable) -> _Out:
        where = f"{self.name(op.table)}.{op.column}"
        ts = self.schema.table(op.table)
        required = op.column in ts.primary_key
        if op.nullable:
            if not required:
                return _Out(notes=[f"{where}: already optional in Iceberg: nothing to do"])
            return self.update(op, f"make {where} optional", p.MakeOptional(op.column))
        if required:
            return _Out(f"make {where} required", notes=[f"{where}: already required"])
        if self.policy.set_not_null == "ignore":
            return _Out(
                f"make {where} required",
                notes=[f"{where}: stays optional in Iceberg (policy set_not_null = ignore)"],
            )
        return _Out(
            f"make {where} required",
            refusal="Iceberg cannot make an optional column required "
            "(data files written before may hold nulls); set set_not_null = 'ignore' to skip",
        )

    def nothing(self, op: Any) -> _Out:
        if isinstance(op, ops.SetDefault):
            where = f"{self.name(op.table)}.{op.column}"
            return _Out(notes=[f"{where}: default changes need no Iceberg change"])
        return _Out()

    def run(self, checksum: str) -> MigrationPlan:
        plan = MigrationPlan(self.migration.id, checksum)
        handlers: dict[type, Callable[[Any], _Out]] = {
            ops.CreateTable: self.create,
            ops.DropTable: self.drop,
            ops.RenameTable: self.rename_table,
            ops.AddColumn: self.add,
            ops.DropColumn: self.drop_column,
            ops.RenameColumn: self.rename_column,
            ops.SwapColumns: self.swap,
            ops.AlterColumnType: self.retype,
            ops.SetNullable: self.nullable,
            ops.SetDefault: self.nothing,
            ops.DefineType: self.nothing,
            ops.DropType: self.nothing,
        }
        for op in self.migration.operations:
            out = handlers[type(op)](op)
            plan.notes.extend(out.notes)
            if out.refusal is not None:
                table = self.name(op.table) if hasattr(op, "table") else ""
                column = getattr(op, "column", None)
                plan.refusals.append(
                    Refusal(
                        self.migration.id,
                        table,
                        column if isinstance(column, str) else None,
                        out.refusal,
                    )
                )
            elif out.payload is not None:
                index = len(plan.steps)
                plan.steps.append(
                    Step(
                        migration_id=self.migration.id,
                        index=index,
                        title=out.title,
                        statements=out.payload.render(self.policy.namespace),
                        note="; ".join(out.notes),
                        guard=_guard(out.payload, self.policy.namespace, self.migration.id, index),
                        payload=out.payload,
                    )
                )
            self.schema.apply(op)
        return plan


def _guard(payload: p.Payload, namespace: str, migration_id: str, index: int) -> str:
    key = step_key(migration_id, index)
    if isinstance(payload, p.DropTable):
        return (
            f"namespace {namespace} property {key}; "
            f"{namespace}.{payload.table} absent means dropped"
        )
    if isinstance(payload, p.RenameTable):
        return (
            f"property {key} on {namespace}.{payload.new_name}; "
            f"{payload.table} absent and {payload.new_name} present means renamed"
        )
    return f"property {key} on {namespace}.{payload.table}, set in the same commit"


def translate(migration: Migration, checksum: str, before: Schema, policy: Policy) -> MigrationPlan:
    """The plan of one migration for an Iceberg target; ``before`` is the generic schema replayed
    up to this migration. Pure: no catalog call."""
    return _Translator(migration, before, policy).run(checksum)


def expected_table(ts: TableSchema, policy: Policy) -> dict[str, str]:
    """Column name → Iceberg type spelling the table should have."""
    return {n: iceberg_type(c.type, policy.type_map) for n, c in ts.columns.items()}
