"""From capture log rows to units of work, grouped by app migration.

The log holds one *event* per trigger firing: a ``ddl_command_end`` event (its commands, each
with the touched table's columns), the ``sql_drop`` event that precedes it, or a version marker.
Every event carries ``current_query()``: the whole string the client sent, which may hold
several statements, and is logged once per DDL statement in it. Each distinct string is parsed
once (pglast's JSON parse tree, no Python AST) and its statements are matched, in order, to the
events it produced; statements that produced no event did not run, or changed nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEVER_FIRES = frozenset(
    {
        "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "TransactionStmt",
        "VariableSetStmt", "VariableShowStmt", "LockStmt", "CopyStmt", "ExplainStmt",
        "NotifyStmt", "ListenStmt", "UnlistenStmt", "VacuumStmt", "CheckPointStmt",
        "DiscardStmt", "PrepareStmt", "DeallocateStmt", "ConstraintsSetStmt", "ClusterStmt",
        "ReindexStmt", "LoadStmt", "FetchStmt", "ClosePortalStmt", "DeclareCursorStmt",
        "CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt", "GrantRoleStmt",
        "CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
        "AlterDatabaseRefreshCollStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt",
        "AlterTableSpaceOptionsStmt", "CreateEventTrigStmt", "AlterEventTrigStmt",
        "AlterSystemStmt",
    }
)  # fmt: skip
"""Statements that never fire an event trigger (DML, transaction control, shared objects)."""

OPAQUE = frozenset({"DoStmt", "SelectStmt", "CallStmt", "ExecuteStmt"})
"""Statements that may run any DDL inside (functions, DO blocks): matched by what is left."""

_VERB_BY_NODE = {
    "IndexStmt": "CREATE",
    "DefineStmt": "CREATE",
    "CompositeTypeStmt": "CREATE",
    "ViewStmt": "CREATE",
    "RuleStmt": "CREATE",
    "CommentStmt": "COMMENT",
    "SecLabelStmt": "SECURITY",
    "RefreshMatViewStmt": "REFRESH",
    "ImportForeignSchemaStmt": "IMPORT",
    "ReassignOwnedStmt": "REASSIGN",
    "TruncateStmt": "TRUNCATE",
}


@dataclass
class Event:
    """One trigger firing: its tag, its command rows and the drops that came with it."""

    seq: int
    txid: int
    tag: str
    query: str
    commands: list[Mapping[str, Any]] = field(default_factory=list)
    drops: list[Mapping[str, Any]] = field(default_factory=list)
    marker_table: str | None = None
    marker_row: Mapping[str, Any] | None = None

    @property
    def is_marker(self) -> bool:
        """True for a version-marker row."""
        return self.marker_table is not None

    @property
    def changed(self) -> bool:
        """False for a DDL event that created, altered and dropped nothing (``IF EXISTS``)."""
        return bool(self.drops) or any(c.get("object_identity") for c in self.commands)

    def tables(self) -> set[tuple[str, str]]:
        """(schema, name) of every table this event created, altered or dropped."""
        out: set[tuple[str, str]] = set()
        for c in self.commands:
            if c.get("columns") is not None and c.get("rel_name"):
                out.add((str(c["schema_name"]), str(c["rel_name"])))
        for d in self.drops:
            addr = d.get("address") or []
            if d.get("object_type") in ("table", "table column") and len(addr) >= 2:
                out.add((str(addr[0]), str(addr[1])))
        return out


@dataclass
class Statement:
    """One statement of a logged query string."""

    text: str
    line: int
    node: str
    verb: str | None
    tag: str | None


@dataclass
class Unit:
    """A statement that ran and the events it produced (``opaque``: a DO block, a function
    call, or a statement the parser did not know; only the catalog tells what it did)."""

    statement: Statement
    events: list[Event]
    opaque: bool

    @property
    def changed(self) -> bool:
        """True when any of its events changed an object."""
        return any(e.changed for e in self.events)

    def tables(self) -> set[tuple[str, str]]:
        """Every table touched by its events."""
        return set().union(*(e.tables() for e in self.events)) if self.events else set()


@dataclass
class Group:
    """The units of one app migration, closed by ``marker`` (``None``: after the last marker)."""

    units: list[Unit]
    marker: Event | None


def build_events(rows: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Fold log rows into events in execution order; a ``sql_drop`` event joins the DDL event
    of the same command that follows it."""
    events: dict[int, Event] = {}
    order: list[Event] = []
    pending_drops: list[Mapping[str, Any]] = []
    pending_key: tuple[int, str, str] | None = None
    for row in rows:
        kind = row["kind"]
        if kind == "drop":
            key = (int(row["txid"]), str(row["tag"]), str(row["query"]))
            if pending_key not in (None, key):
                pending_drops = []
            pending_key = key
            pending_drops.append(row)
            continue
        ev = events.get(int(row["event"]))
        if ev is None:
            ev = Event(int(row["seq"]), int(row["txid"]), str(row["tag"]), str(row["query"] or ""))
            if kind == "marker":
                ev.marker_table = str(row["marker_table"])
                ev.marker_row = _json(row["marker_row"])
            events[int(row["event"])] = ev
            order.append(ev)
            if pending_drops and pending_key == (ev.txid, ev.tag, ev.query):
                ev.drops = pending_drops
            pending_drops, pending_key = [], None
        if kind == "ddl":
            if row.get("columns") is not None:
                row = {**row, "columns": _json(row["columns"])}
            ev.commands.append(row)
    return order


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _verb(node: str, body: Mapping[str, Any]) -> str | None:
    if node in _VERB_BY_NODE:
        return _VERB_BY_NODE[node]
    if node == "GrantStmt":
        return "GRANT" if body.get("is_grant") else "REVOKE"
    for prefix, verb in (
        ("Create", "CREATE"),
        ("Alter", "ALTER"),
        ("Rename", "ALTER"),
        ("Drop", "DROP"),
    ):
        if node.startswith(prefix):
            return verb
    return None


def parse_statements(query: str) -> list[Statement]:
    """Split a logged query string into statements with their node type and expected tag.

    A string pglast cannot parse becomes one opaque statement.
    """
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(query))
    except ParseError:
        return [Statement(query, 1, "?", None, None)]
    raw = query.encode("utf-8")
    out: list[Statement] = []
    for item in tree.get("stmts", []):
        start = item.get("stmt_location", 0)
        length = item.get("stmt_len", 0)
        chunk = raw[start : start + length] if length else raw[start:]
        text = chunk.decode("utf-8").strip()
        lead = len(chunk) - len(chunk.lstrip())
        line = raw[: start + lead].count(b"\n") + 1
        ((node, body),) = item["stmt"].items()
        tag = None
        if node == "CreateStmt":
            tag = "CREATE TABLE"
        elif node == "IndexStmt":
            tag = "CREATE INDEX"
        out.append(Statement(text, line, node, _verb(node, body), tag))
    return out


def _fits(stmt: Statement, event: Event) -> bool:
    if stmt.tag is not None:
        return event.tag == stmt.tag
    return stmt.verb is not None and event.tag.split(" ", 1)[0] == stmt.verb


def _kind(stmt: Statement) -> str:
    if stmt.node in NEVER_FIRES:
        return "none"
    if stmt.node in OPAQUE or stmt.verb is None:
        return "opaque"
    return "ddl"


def match_run(
    statements: Sequence[Statement], events: Sequence[Event], first: int = 0
) -> tuple[list[Unit], int]:
    """Attribute a run of events that share one query string to the statements of that string,
    starting at statement ``first``; returns the units and where the next run of the same
    string continues (a version marker inside the string splits it into runs).

    Statements are walked in order; a DDL statement takes the next event when its tag fits
    (else it did not run); an opaque statement takes the events the DDL statements after it
    cannot account for. When events remain after the last statement, the string ran again.
    """
    units: list[Unit] = []
    i = 0
    n = first
    while i < len(events):
        start = i
        while n < len(statements) and i < len(events):
            stmt = statements[n]
            kind = _kind(stmt)
            n += 1
            if kind == "ddl":
                if _fits(stmt, events[i]):
                    units.append(Unit(stmt, [events[i]], opaque=False))
                    i += 1
            elif kind == "opaque":
                later = sum(1 for s in statements[n:] if _kind(s) == "ddl")
                take = max(1, len(events) - i - later)
                units.append(Unit(stmt, list(events[i : i + take]), opaque=True))
                i += take
        if i < len(events) and n >= len(statements):
            n = 0
            if i == start and first == 0:
                # No statement accounts for this event (the parse tree and the log disagree):
                # keep it, so the catalog fallback still sees what it did.
                units.append(
                    Unit(Statement(events[i].query, 1, "?", None, None), [events[i]], True)
                )
                i += 1
            first = 0
    return units, n


def group_units(events: Sequence[Event]) -> list[Group]:
    """Split events at version markers and turn each group's DDL into units.

    Consecutive DDL events with the same transaction and query string form one run; its string
    is parsed once.
    """
    parsed: dict[str, list[Statement]] = {}
    groups: list[Group] = []
    units: list[Unit] = []
    run: list[Event] = []
    resume: tuple[tuple[int, str], int] | None = None

    def flush() -> None:
        nonlocal resume
        if not run:
            return
        key = (run[0].txid, run[0].query)
        if key[1] not in parsed:
            parsed[key[1]] = parse_statements(key[1])
        first = resume[1] if resume is not None and resume[0] == key else 0
        found, position = match_run(parsed[key[1]], run, first)
        units.extend(found)
        resume = (key, position)
        run.clear()

    for ev in events:
        if ev.is_marker:
            flush()
            groups.append(Group(units, ev))
            units = []
            if resume is not None and resume[0] != (ev.txid, ev.query):
                resume = None
            continue
        if run and (run[0].txid, run[0].query) != (ev.txid, ev.query):
            flush()
        if resume is not None and resume[0] != (ev.txid, ev.query):
            resume = None
        run.append(ev)
    flush()
    if units:
        groups.append(Group(units, None))
    return groups
