"""An in-memory schema that generic operations replay onto, and its deterministic hash.

The normaliser replays as it goes to know the current type of a column it drops, renames or
retypes; ``check`` compares the replay of ``generic_migrations/`` with the live catalog.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from gen_migrate.errors import InputError
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    DefineType,
    DropColumn,
    DropTable,
    DropType,
    Operation,
    RenameColumn,
    RenameTable,
    SetDefault,
    SetNullable,
    SwapColumns,
    TableRef,
)
from gen_migrate.generic.types import GenericType


class ReplayError(InputError):
    """An operation does not fit the schema it is replayed onto."""


@dataclass
class TableSchema:
    """A table: ordered columns by name, and its primary key."""

    ref: TableRef
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)

    def column(self, name: str) -> Column:
        """The named column, or a :class:`ReplayError` naming table and column."""
        try:
            return self.columns[name]
        except KeyError:
            raise ReplayError(f"column {self.ref}.{name} does not exist") from None


@dataclass
class Schema:
    """Tables by reference, plus the user types (enums, domains) defined so far."""

    tables: dict[TableRef, TableSchema] = field(default_factory=dict)
    types: dict[TableRef, GenericType] = field(default_factory=dict)

    def table(self, ref: TableRef) -> TableSchema:
        """The table, or a :class:`ReplayError` naming it."""
        try:
            return self.tables[ref]
        except KeyError:
            raise ReplayError(f"table {ref} does not exist") from None

    def copy(self) -> Schema:
        """A deep-enough copy: tables and column maps are new, columns are immutable."""
        return Schema(
            tables={
                r: TableSchema(ts.ref, dict(ts.columns), list(ts.primary_key))
                for r, ts in self.tables.items()
            },
            types=dict(self.types),
        )

    def apply(self, op: Operation) -> None:
        """Replay one operation; raises :class:`ReplayError` when it does not fit."""
        apply: Callable[[Schema, Any], None] = APPLY[type(op)]
        apply(self, op)

    def apply_all(self, ops: Iterable[Operation]) -> None:
        """Replay operations in order."""
        for op in ops:
            self.apply(op)

    def hash(self, tables: Iterable[TableRef] | None = None) -> str:
        """sha256 over tables and columns (sorted by name; positions ignored), types without
        their Postgres spelling, nullability and defaults."""
        refs = sorted(self.tables if tables is None else tables, key=lambda r: (r.schema, r.name))
        doc = []
        for ref in refs:
            ts = self.tables.get(ref)
            if ts is None:
                continue
            cols = [
                [c.name, list(_jsonable(c.type.key())), c.nullable, c.default]
                for c in sorted(ts.columns.values(), key=lambda c: c.name)
            ]
            doc.append([ref.schema, ref.name, cols])
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


_new = object.__new__
_SET_DICT: Callable[[Any, Any], None] = vars(BaseModel)["__dict__"].__set__
_SET_FIELDS_SET: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_fields_set__"].__set__
_SET_EXTRA: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_extra__"].__set__
_SET_PRIVATE: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_private__"].__set__


def _with(col: Column, **update: Any) -> Column:
    """``col.model_copy(update=update)`` without pydantic's generic copy machinery (the replay
    copies a column on every rename, retype, nullability or default change)."""
    values = col.__dict__.copy()
    values.update(update)
    copy: Column = _new(Column)
    _SET_DICT(copy, values)
    _SET_FIELDS_SET(copy, col.__pydantic_fields_set__ | update.keys())
    _SET_EXTRA(copy, col.__pydantic_extra__)
    _SET_PRIVATE(copy, col.__pydantic_private__)
    return copy


def _jsonable(key: tuple[object, ...]) -> Iterable[object]:
    for part in key:
        yield list(_jsonable(part)) if isinstance(part, tuple) else part


def _create(s: Schema, op: CreateTable) -> None:
    if op.table in s.tables:
        raise ReplayError(f"table {op.table} already exists")
    s.tables[op.table] = TableSchema(
        op.table, {c.name: c for c in op.columns}, list(op.primary_key)
    )


def _drop(s: Schema, op: DropTable) -> None:
    s.table(op.table)
    del s.tables[op.table]


def _rename_table(s: Schema, op: RenameTable) -> None:
    ts = s.table(op.table)
    new = TableRef(schema=op.table.schema, name=op.new_name)
    if new in s.tables:
        raise ReplayError(f"cannot rename {op.table}: table {new} already exists")
    del s.tables[op.table]
    ts.ref = new
    s.tables[new] = ts


def _add(s: Schema, op: AddColumn) -> None:
    ts = s.table(op.table)
    if op.column.name in ts.columns:
        raise ReplayError(f"column {op.table}.{op.column.name} already exists")
    ts.columns[op.column.name] = op.column


def _drop_col(s: Schema, op: DropColumn) -> None:
    ts = s.table(op.table)
    ts.column(op.column)
    del ts.columns[op.column]
    ts.primary_key = [c for c in ts.primary_key if c != op.column]


def _rename_col(s: Schema, op: RenameColumn) -> None:
    ts = s.table(op.table)
    col = ts.column(op.column)
    if op.new_name in ts.columns:
        raise ReplayError(f"cannot rename {op.table}.{op.column}: {op.new_name} exists")
    old, new = op.column, op.new_name  # read once, not per column
    renamed = _with(col, name=new)
    ts.columns = {
        (new if n == old else n): (renamed if n == old else c) for n, c in ts.columns.items()
    }
    ts.primary_key = [new if c == old else c for c in ts.primary_key]


def _swap(s: Schema, op: SwapColumns) -> None:
    ts = s.table(op.table)
    a, b = ts.column(op.a), ts.column(op.b)
    renamed = {op.a: _with(b, name=op.a), op.b: _with(a, name=op.b)}
    # Positions stay; what each position holds is exchanged.
    ts.columns = {n: renamed.get(n, c) for n, c in ts.columns.items()}
    swap = {op.a: op.b, op.b: op.a}
    ts.primary_key = [swap.get(c, c) for c in ts.primary_key]


def _retype(s: Schema, op: AlterColumnType) -> None:
    ts = s.table(op.table)
    ts.columns[op.column] = _with(ts.column(op.column), type=op.new_type)


def _nullable(s: Schema, op: SetNullable) -> None:
    ts = s.table(op.table)
    ts.columns[op.column] = _with(ts.column(op.column), nullable=op.nullable)


def _default(s: Schema, op: SetDefault) -> None:
    ts = s.table(op.table)
    ts.columns[op.column] = _with(ts.column(op.column), default=op.default)


def _define_type(s: Schema, op: DefineType) -> None:
    s.types[op.name] = op.type


def _drop_type(s: Schema, op: DropType) -> None:
    s.types.pop(op.name, None)


APPLY: dict[type, Callable[[Schema, Any], None]] = {
    CreateTable: _create,
    DropTable: _drop,
    RenameTable: _rename_table,
    AddColumn: _add,
    DropColumn: _drop_col,
    RenameColumn: _rename_col,
    SwapColumns: _swap,
    AlterColumnType: _retype,
    SetNullable: _nullable,
    SetDefault: _default,
    DefineType: _define_type,
    DropType: _drop_type,
}
"""Operation type → the function that replays it (what :meth:`Schema.apply` dispatches to)."""


def replay(migrations: Iterable[Iterable[Operation]]) -> Schema:
    """A fresh schema with every migration's operations replayed in order."""
    schema = Schema()
    for ops in migrations:
        schema.apply_all(ops)
    return schema
