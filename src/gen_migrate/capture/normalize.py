"""Postgres DDL text → generic operations: the entry point of capture from SQL.

Statements that cannot change a table's columns and are recognised by their leading keywords
(data changes, functions, triggers, indexes, comments, views, …) are skipped without being
parsed (see :mod:`gen_migrate.capture.prefilter`); the rest of the text is parsed once with
``pglast.parser.parse_sql_json`` (no Python AST), and each statement's JSON node goes to the
translator registered for its node type in :data:`TRANSLATORS`. Every
operation is replayed onto the caller's :class:`~gen_migrate.generic.schema.Schema` as it is
produced, so a later statement knows what an earlier one did. A statement that fails leaves the
schema as it was before that statement. After the last statement, three renames that exchange two
column names are folded into one ``swap_columns``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gen_migrate.capture.context import Ctx, FileState, JsonNode, Skip, Unsupported, range_ref
from gen_migrate.capture.doblock import do_block
from gen_migrate.capture.normalize_alter import alter_table, shallow_skip
from gen_migrate.capture.normalize_objects import drop, rename, set_schema
from gen_migrate.capture.normalize_table import create_table
from gen_migrate.capture.normalize_types import alter_enum, create_domain, create_enum
from gen_migrate.capture.pgtypes import TypeRegistry
from gen_migrate.capture.prefilter import split_prefiltered
from gen_migrate.capture.skip import REFUSED, SKIPPED
from gen_migrate.capture.statements import RawStatement, SourceText, split_statements
from gen_migrate.errors import InputError
from gen_migrate.generic.operations import Operation, RenameColumn, SwapColumns
from gen_migrate.generic.schema import Schema

OutcomeKind = Literal["normalized", "skipped", "error"]


class NormalizeError(InputError):
    """A statement that may change columns but cannot be normalised.

    The message reads ``<file>:<line>: <reason>: <statement, first ~80 chars>``.
    """


@dataclass(slots=True)
class Outcome:
    """What became of one statement."""

    file: str
    line: int
    statement: str
    kind: OutcomeKind
    reason: str
    operations: list[Operation] = field(default_factory=list)

    def message(self) -> str:
        """``file:line: reason: statement`` (statement shortened to one line)."""
        return f"{self.file}:{self.line}: {self.reason}: {shorten(self.statement)}"


@dataclass
class NormalizeResult:
    """Operations in order (swaps folded), one outcome per statement, and the source text of
    the statements that produced operations."""

    operations: list[Operation]
    outcomes: list[Outcome]
    statements: list[str]

    def errors(self) -> list[Outcome]:
        """The outcomes of kind ``error``."""
        return [o for o in self.outcomes if o.kind == "error"]


def shorten(statement: str, limit: int = 80) -> str:
    """The statement on one line, cut to ``limit`` characters."""
    flat = " ".join(statement.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


Translator = Callable[[Ctx, JsonNode], str]


def _create_table_as(ctx: Ctx, node: JsonNode) -> str:
    into = node.get("into", {})
    rel = into.get("rel", {})
    if node.get("objtype") == "OBJECT_MATVIEW":
        raise Skip("materialized view")
    if rel.get("relpersistence") == "t":
        raise Skip("temporary table: not replicated")
    raise Unsupported(REFUSED["CreateTableAsStmt"])


def _select(ctx: Ctx, node: JsonNode) -> str:
    into = node.get("intoClause")
    if into is None:
        raise Skip(SKIPPED["SelectStmt"])
    if into.get("rel", {}).get("relpersistence") == "t":
        raise Skip("SELECT INTO a temporary table: not replicated")
    raise Unsupported("SELECT … INTO: the new table's columns come from a query")


def _view(ctx: Ctx, node: JsonNode) -> str:
    ctx.state.others.add(range_ref(node["view"]))
    raise Skip("view")


def _foreign_table(ctx: Ctx, node: JsonNode) -> str:
    ctx.state.others.add(range_ref(node["base"]["relation"]))
    raise Skip("foreign table: not replicated")


def _index(ctx: Ctx, node: JsonNode) -> str:
    ctx.state.record_index(node)
    raise Skip(SKIPPED["IndexStmt"])


def _create_schema(ctx: Ctx, node: JsonNode) -> str:
    elements = node.get("schemaElts", ())
    if not elements:
        raise Skip("schema")
    for element in elements:
        kind, inner = next(iter(element.items()))
        try:
            TRANSLATORS.get(kind, _by_name(kind))(ctx, inner)
        except Skip:
            continue
    if not ctx.ops:
        raise Skip("schema (its elements change no replicated table)")
    return "create schema"


def refuse_by_name(kind: str) -> Translator:
    """The translator of a node type without its own: skip or refuse it by name."""
    return _by_name(kind)


def _by_name(kind: str) -> Translator:
    def translate(ctx: Ctx, node: JsonNode) -> str:
        if kind in SKIPPED:
            raise Skip(SKIPPED[kind])
        if kind in REFUSED:
            raise Unsupported(REFUSED[kind])
        raise Unsupported(f"statement kind {kind} is not understood")

    return translate


def _shallow_view(ctx: Ctx, raw: RawStatement) -> str:
    ctx.state.others.add(range_ref(raw.field("view")))
    raise Skip("view")


def _shallow_select(ctx: Ctx, raw: RawStatement) -> str:
    if isinstance(raw.payload, str) and '"intoClause"' not in raw.payload:
        raise Skip(SKIPPED["SelectStmt"])
    return _select(ctx, raw.node())


_SHALLOW: dict[str, Callable[[Ctx, RawStatement], str]] = {
    "ViewStmt": _shallow_view,
    "SelectStmt": _shallow_select,
}
"""Node types decided from one field or a substring of the JSON, without decoding it all."""

TRANSLATORS: dict[str, Translator] = {
    "CreateStmt": create_table,
    "AlterTableStmt": alter_table,
    "RenameStmt": rename,
    "DropStmt": drop,
    "AlterObjectSchemaStmt": set_schema,
    "CreateEnumStmt": create_enum,
    "AlterEnumStmt": alter_enum,
    "CreateDomainStmt": create_domain,
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select,
    "DoStmt": do_block,
    "ViewStmt": _view,
    "IndexStmt": _index,
    "CreateForeignTableStmt": _foreign_table,
    "CreateSchemaStmt": _create_schema,
}
"""Statement node type → translator; other node types are skipped or refused by name."""

_DECIDED = TRANSLATORS.keys() | _SHALLOW.keys()
"""Node types that need more than their name to be decided."""


def normalize_sql(
    sql: str,
    schema: Schema,
    *,
    file: str = "<sql>",
    line_offset: int = 0,
    types: Mapping[str, str] | None = None,
    on_error: Literal["raise", "collect"] = "raise",
) -> NormalizeResult:
    """Normalise every statement of ``sql`` into generic operations, replaying them onto
    ``schema`` (mutated).

    ``line_offset`` is added to 1-based line numbers (for a fragment of a bigger file);
    ``types`` are the ``[types]`` overrides of the config. With ``on_error="raise"`` the first
    statement that cannot be normalised raises :class:`NormalizeError` (the schema keeps what the
    statements before it did); with ``"collect"`` it becomes an ``error`` outcome and the rest
    goes on.
    """
    # The decoded trees are acyclic garbage; cyclic collection while they come and go costs
    # about a sixth of the run, so it waits until the call is over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _normalize(sql, schema, file, line_offset, types, on_error)
    finally:
        if gc_was_enabled:
            gc.enable()


def _normalize(
    sql: str,
    schema: Schema,
    file: str,
    line_offset: int,
    types: Mapping[str, str] | None,
    on_error: Literal["raise", "collect"],
) -> NormalizeResult:
    registry = TypeRegistry.from_schema(schema, types)
    src = SourceText(sql)
    state = FileState()
    outcomes: list[Outcome] = []
    statements = split_prefiltered(src)
    if statements is None:
        statements = split_statements(src)
    whole = sql if src.ascii else None
    data = src.data
    operations: list[Operation] = []
    sources: list[str] = []
    for raw in statements:
        # SourceText.decode inlined (a non-ASCII text decodes every statement)
        text = (
            whole[raw.start : raw.end]
            if whole is not None
            else data[raw.start : raw.end].decode(errors="replace")
        )
        line = raw.line + line_offset
        kind = raw.kind
        if raw.error is not None:
            outcome = Outcome(file, line, text, "error", raw.error)
            if on_error == "raise":
                raise NormalizeError(outcome.message())
        elif raw.payload is None or (kind in SKIPPED and kind not in _DECIDED):
            # recognised by its leading keywords (prefilter.py) or its node type alone
            if kind == "IndexStmt":
                state.pending_indexes.append(text)
            elif raw.forgets:
                state.others.difference_update(raw.forgets)
            outcome = Outcome(file, line, text, "skipped", raw.reason or SKIPPED[kind], [])
        elif kind == "ViewStmt" and type(raw.payload) is dict:
            # set aside by its leading keywords, with only its name: what _shallow_view does
            state.others.add(range_ref(raw.payload["view"]))
            outcome = Outcome(file, line, text, "skipped", "view", [])
        else:
            outcome = _translate(raw, schema, registry, state, text)
            outcome.file, outcome.line = file, line
            # The statement's JSON (text or tree) goes now, not with the list at the end: the
            # next statement's then reuses its memory while that is still in cache.
            raw.payload = None
            if outcome.operations:
                operations.extend(outcome.operations)
                sources.append(text)
            elif outcome.kind == "error" and on_error == "raise":
                raise NormalizeError(outcome.message())
        outcomes.append(outcome)
    return NormalizeResult(fold_swaps(operations), outcomes, sources)


def _translate(
    raw: RawStatement,
    schema: Schema,
    registry: TypeRegistry,
    state: FileState,
    text: str,
) -> Outcome:
    kind = raw.kind
    if kind == "AlterTableStmt" and isinstance(raw.payload, str):
        # decided from the JSON text, before anything is set up for a translation
        reason = shallow_skip(raw.payload)
        if reason is not None:
            return Outcome("", 0, text, "skipped", reason)
    ctx = Ctx(schema, registry, state, text, raw.base)
    translator = TRANSLATORS.get(kind)
    try:
        if kind in _SHALLOW:
            summary = _SHALLOW[kind](ctx, raw)
        elif translator is None:
            summary = _by_name(kind)(ctx, {})
        else:
            summary = translator(ctx, raw.node())
    except Skip as skip:
        ctx.rollback()
        return Outcome("", 0, text, "skipped", str(skip))
    except Unsupported as exc:
        ctx.rollback()
        return Outcome("", 0, text, "error", str(exc))
    except (KeyError, IndexError, TypeError, ValueError, InputError) as exc:
        ctx.rollback()
        return Outcome("", 0, text, "error", f"cannot normalise {kind}: {_plain(exc)}")
    if ctx.notes:
        summary = f"{summary} ({'; '.join(ctx.notes)})"
    return Outcome("", 0, text, "normalized", summary, ctx.ops)


def _plain(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return exc.message
    return f"{type(exc).__name__} {exc}"


def fold_swaps(ops: list[Operation]) -> list[Operation]:
    """Fold ``a→t, b→a, t→b`` renames of one table into ``swap_columns(a, b)``.

    The three renames must be consecutive operations, in that order.
    """
    out: list[Any] = list(ops)
    # exact types: isinstance on pydantic models runs their metaclass's Python check
    if sum(type(op) is RenameColumn for op in out) < 3:
        return out
    i = 0
    while i + 2 < len(out):
        r1 = out[i]
        if type(r1) is not RenameColumn:
            i += 1
            continue
        r2, r3 = out[i + 1], out[i + 2]
        if (
            type(r2) is RenameColumn
            and type(r3) is RenameColumn
            and r1.table == r2.table == r3.table
            and r2.new_name == r1.column
            and r3.column == r1.new_name
            and r3.new_name == r2.column
            and r1.column != r2.column
        ):
            out[i : i + 3] = [SwapColumns(table=r1.table, a=r1.column, b=r2.column)]
        i += 1
    return out
