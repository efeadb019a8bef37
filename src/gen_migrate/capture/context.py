"""State shared by the statement translators: the schema being replayed, types, undo journal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gen_migrate.capture.pgtypes import (
    TypeRegistry,
    UnknownTypeError,
    generic_from_typename,
    table_ref,
)
from gen_migrate.capture.sqltext import StatementText, min_location
from gen_migrate.capture.statements import decode_json
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    Operation,
    RenameTable,
    TableRef,
)
from gen_migrate.generic.schema import APPLY, ReplayError, Schema, TableSchema
from gen_migrate.generic.types import GenericType, TypeKind

JsonNode = dict[str, Any]


class Skip(Exception):
    """The statement cannot change a replicated table's columns; the message says why."""


class Unsupported(Exception):
    """The statement may change columns but cannot be normalised; the message says why."""


@dataclass
class FileState:
    """What one ``normalize_sql`` call learns beyond the schema model.

    ``others`` are relations that exist but are not replicated tables (views, temporary and
    foreign tables, sequences); ``children`` maps a table to the tables that inherit from it
    (partitions included), so column changes recurse the way Postgres recurses them;
    ``indexes`` maps (schema, index name) to its plain columns, for ``PRIMARY KEY USING INDEX``;
    ``pending_indexes`` are CREATE INDEX statements not parsed yet (they are parsed only when
    :meth:`index_columns` is asked).
    """

    others: set[TableRef] = field(default_factory=set)
    children: dict[TableRef, list[TableRef]] = field(default_factory=dict)
    partitions: set[TableRef] = field(default_factory=set)
    indexes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    pending_indexes: list[str] = field(default_factory=list)
    enum_tables: set[TableRef] | None = None
    """Tables that may hold a column of an enum (or array of enum) type: a superset, ``None``
    until :meth:`tables_with_enums` is first asked."""

    def tables_with_enums(self, schema: Schema) -> list[tuple[TableRef, TableSchema]]:
        """The tables of ``schema``, in order, that may have a column of an enum type or an
        array of one (the others certainly have none)."""
        if self.enum_tables is None:
            self.enum_tables = {ref for ref, ts in schema.tables.items() if _has_enum(ts)}
        found = self.enum_tables
        return [(ref, ts) for ref, ts in schema.tables.items() if ref in found]

    def record_index(self, node: JsonNode) -> None:
        """Remember the plain columns of a JSON ``IndexStmt`` (expression indexes are left out)."""
        params = [p.get("IndexElem", {}).get("name") for p in node.get("indexParams", ())]
        if node.get("idxname") and params and all(params):
            schema = range_ref(node["relation"]).schema
            self.indexes[(schema, node["idxname"])] = [str(p) for p in params]

    def index_columns(self, schema: str, name: str) -> list[str] | None:
        """The plain columns of index ``schema.name`` created so far, ``None`` if not known."""
        if self.pending_indexes:
            from pglast.parser import ParseError, parse_sql_json

            pending, self.pending_indexes = self.pending_indexes, []
            try:
                trees = [decode_json(parse_sql_json("\n;\n".join(pending)))]
            except ParseError:
                trees = []
                for text in pending:
                    try:
                        trees.append(decode_json(parse_sql_json(text)))
                    except ParseError:
                        continue
            for tree in trees:
                for stmt in tree.get("stmts", ()):
                    node = stmt["stmt"].get("IndexStmt")
                    if node is not None:
                        self.record_index(node)
        return self.indexes.get((schema, name))


_UNSET: Any = object()


_ENUM, _ARRAY = TypeKind.ENUM, TypeKind.ARRAY


def is_enumish(ty: GenericType) -> bool:
    """An enum type or an array of one."""
    if ty.kind is _ARRAY and ty.element is not None:
        ty = ty.element
    return ty.kind is _ENUM


_Snapshot = tuple[TableRef, dict[str, Column], list[str]]
"""What a table was (reference, columns, primary key) before a statement changed it."""


def _snapshot(ts: TableSchema | None) -> _Snapshot | None:
    """A copy of a table's parts to restore on rollback (columns are immutable, their maps are
    not); the table itself is built again only when a statement is rolled back."""
    return None if ts is None else (ts.ref, dict(ts.columns), list(ts.primary_key))


def _adds_enum(op: Operation) -> bool:
    """Whether ``op`` may give its table a column of an enum type (or an array of one)."""
    # exact types: isinstance on a pydantic model class runs its metaclass's Python check
    if type(op) is AddColumn:
        return is_enumish(op.column.type)
    if type(op) is AlterColumnType:
        return is_enumish(op.new_type)
    if type(op) is CreateTable:
        return _any_enumish(op.columns)
    return False


def _has_enum(ts: TableSchema) -> bool:
    return _any_enumish(ts.columns.values())


def _any_enumish(columns: Iterable[Column]) -> bool:
    """Whether any of ``columns`` is of an enum type or an array of one (:func:`is_enumish`
    inlined: this runs over every column of many tables)."""
    enum, array = TypeKind.ENUM, TypeKind.ARRAY
    for column in columns:
        ty = column.type
        kind = ty.kind
        if kind is enum:
            return True
        if kind is array and (element := ty.element) is not None and element.kind is enum:
            return True
    return False


class Ctx:
    """One statement being translated: emits operations onto the schema, undoably."""

    __slots__ = ("_tables", "_types", "base", "notes", "ops", "registry", "schema", "state", "text")

    def __init__(
        self,
        schema: Schema,
        registry: TypeRegistry,
        state: FileState,
        text: StatementText | str,
        base: int,
    ) -> None:
        self.schema = schema
        self.registry = registry
        self.state = state
        # a plain string becomes a StatementText when an expression is first read from it
        self.text = text
        self.base = base
        self.ops: list[Operation] = []
        self.notes: list[str] = []
        self._tables: dict[TableRef, _Snapshot | None] = {}
        self._types: dict[TableRef, GenericType | None] = {}

    # -- operations -------------------------------------------------------------------------

    def emit(self, op: Operation) -> None:
        """Replay ``op`` onto the schema and keep it; a misfit is :class:`Unsupported`."""
        self._remember(op)
        try:
            APPLY[type(op)](self.schema, op)  # Schema.apply without its own call
        except ReplayError as exc:
            raise Unsupported(exc.message) from None
        self.ops.append(op)

    def _remember(self, op: Operation) -> None:
        table: TableRef | None = op.__dict__.get("table")
        if table is None:
            name = op.name  # type: ignore[union-attr]
            if name not in self._types:
                self._types[name] = self.schema.types.get(name)
            return
        found = self.state.enum_tables
        saved = self._tables
        if type(op) is RenameTable:
            new = table_ref(table.schema, op.new_name)
            if found is not None and table in found:
                found.add(new)
            if new not in saved:
                saved[new] = _snapshot(self.schema.tables.get(new))
        elif found is not None and _adds_enum(op):
            found.add(table)
        if table not in saved:
            saved[table] = _snapshot(self.schema.tables.get(table))

    def rollback(self) -> None:
        """Undo every operation this statement emitted."""
        if self.state.enum_tables is not None:
            self.state.enum_tables.update(
                ref
                for ref, saved in self._tables.items()
                if saved is not None and _any_enumish(saved[1].values())
            )
        for ref, saved in self._tables.items():
            if saved is None:
                self.schema.tables.pop(ref, None)
            else:
                self.schema.tables[ref] = TableSchema(*saved)
        for ref, ty in self._types.items():
            if ty is None:
                self.schema.types.pop(ref, None)
            else:
                self.schema.types[ref] = ty
        self.ops.clear()

    def absorb(self, inner: Ctx) -> None:
        """Take over what an inner statement (of a DO block) emitted, undo journal included."""
        for ref, ts in inner._tables.items():
            self._tables.setdefault(ref, ts)
        for tref, ty in inner._types.items():
            self._types.setdefault(tref, ty)
        self.ops.extend(inner.ops)
        self.notes.extend(inner.notes)

    # -- lookups ----------------------------------------------------------------------------

    def type_of(self, node: JsonNode) -> GenericType:
        """Generic type of a JSON ``TypeName``; an unknown name is :class:`Unsupported`."""
        try:
            return generic_from_typename(node, self.registry)
        except UnknownTypeError as exc:
            raise Unsupported(exc.message) from None

    def table(self, ref: TableRef, *, missing_ok: bool = False) -> TableSchema | None:
        """The known table, ``None`` when it is missing and that is fine, else Unsupported."""
        ts = self.schema.tables.get(ref)
        if ts is None and not missing_ok:
            raise Unsupported(
                f"table {ref} is not known (not created earlier in this text or in earlier "
                "generic migrations)"
            )
        return ts

    def expression(
        self, keyword: str, node: JsonNode, at: int = -1, column_constraint: bool = False
    ) -> str:
        """Source text of an expression node introduced by ``keyword`` (see
        :meth:`StatementText.expression_after` for ``column_constraint``)."""
        loc = min_location(node) if at < 0 else at
        if loc < 0:
            return ""
        text = self.text
        if isinstance(text, str):
            text = self.text = StatementText(text, text.isascii())
        return text.expression_after(
            keyword, text.char_offset(loc - self.base), column_constraint=column_constraint
        )


def range_ref(node: JsonNode) -> TableRef:
    """TableRef of a JSON ``RangeVar`` (unqualified = ``public``)."""
    return table_ref(node.get("schemaname", "public"), node["relname"])


def name_ref(items: list[JsonNode]) -> TableRef:
    """TableRef of a dotted name given as a list of JSON ``String`` nodes."""
    parts = [n["String"]["sval"] for n in items]
    if len(parts) == 1:
        return table_ref("public", parts[0])
    return table_ref(parts[-2], parts[-1])
