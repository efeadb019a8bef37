"""DO blocks: the static SQL inside a PL/pgSQL body is normalised like top-level statements.

The body is parsed with ``pglast.parser.parse_plpgsql_json`` (wrapped in a throwaway function
definition). Every static SQL statement in it goes through the same translators as top-level
text; data changes, comments, functions and triggers are recognised by their leading keywords
and passed over unparsed, as at top level. A statement under an ``IF`` or in a block with an
``EXCEPTION`` handler is *guarded*: the common idioms (``IF NOT EXISTS (…
information_schema.columns …) THEN ALTER TABLE …``, ``BEGIN CREATE TYPE … EXCEPTION WHEN
duplicate_object THEN NULL``) run their DDL only when it fits the schema, so a guarded
statement that does not fit the schema model is a no-op (noted), not an error. Refused: dynamic
SQL (``EXECUTE``), DDL inside a loop, languages other than PL/pgSQL, and an unguarded statement
that cannot be normalised. A block with no DDL is skipped.
"""

from __future__ import annotations

import json
import re

from gen_migrate.capture.context import Ctx, JsonNode, Skip, Unsupported
from gen_migrate.capture.prefilter import inert_kind
from gen_migrate.capture.skip import REFUSED, SKIPPED
from gen_migrate.capture.sqltext import StatementText
from gen_migrate.capture.statements import decode_json

_LOOPS = {
    "PLpgSQL_stmt_loop",
    "PLpgSQL_stmt_while",
    "PLpgSQL_stmt_fori",
    "PLpgSQL_stmt_fors",
    "PLpgSQL_stmt_forc",
    "PLpgSQL_stmt_foreach_a",
    "PLpgSQL_stmt_dynfors",
}
_DYNAMIC_KINDS = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")
_HOLDS_STATEMENTS = frozenset(
    {
        "action",
        "body",
        "then_body",
        "elsif_list",
        "else_body",
        "case_when_list",
        "stmts",
        "else_stmts",
        "exceptions",
        "exc_list",
    }
)
"""The fields of PL/pgSQL tree nodes (as libpg_query writes them) that hold statements: statement
lists, lists of nodes with statement lists (ELSIF, WHEN, exception handlers), and single such
nodes (a function's top block, a block's handlers). The walk goes into no other field:
variables, conditions and expressions hold no statements."""
_DATA_ONLY = "DO block without DDL (changes data only)"
_EXECSQL = '"PLpgSQL_stmt_execsql":'
"""A static SQL statement's key in a PL/pgSQL tree's JSON text (a key: a string followed by a
colon cannot be inside a string)."""
_QUERY_HEAD = re.compile(r'\{"lineno":\d+,"sqlstmt":\{"PLpgSQL_expr":\{"query":')
"""What comes between :data:`_EXECSQL` and the statement's query (a JSON string)."""
_JSON = json.JSONDecoder()
"""Its ``raw_decode`` reads the query's JSON string where it starts and says where it ends."""
_WRAP = "CREATE FUNCTION gen_migrate_do() RETURNS void LANGUAGE plpgsql AS $gen_migrate$"


def do_block(ctx: Ctx, node: JsonNode) -> str:
    """``DoStmt`` → the operations of the DDL in its body."""
    from pglast.parser import ParseError, parse_plpgsql_json, parse_sql_json

    from gen_migrate.capture.normalize import TRANSLATORS

    body, language = "", "plpgsql"
    for arg in node.get("args", ()):
        elem = arg.get("DefElem", {})
        value = elem.get("arg", {}).get("String", {}).get("sval", "")
        if elem.get("defname") == "as":
            body = value
        elif elem.get("defname") == "language":
            language = value
    if language.lower() != "plpgsql":
        raise Unsupported(f"DO block in language {language}: {REFUSED['DoStmt']}")
    if "$gen_migrate$" in body:
        raise Unsupported(REFUSED["DoStmt"])
    try:
        text = parse_plpgsql_json(f"{_WRAP}{body}$gen_migrate$")
    except ParseError as exc:
        raise Unsupported(f"DO block body does not parse ({exc})") from None
    if _changes_data_only(text):
        raise Skip(_DATA_ONLY)
    tree = decode_json(text)
    statements: list[tuple[str | None, bool, bool]] = []
    _collect_statements(tree, False, False, statements)
    ran = 0
    for query, guarded, looped in statements:
        if query is None:
            raise Unsupported(f"DO block runs dynamic SQL (EXECUTE): {REFUSED['DoStmt']}")
        if inert_kind(query) is not None:
            continue
        try:
            parsed = decode_json(parse_sql_json(query))["stmts"]
        except ParseError as exc:
            raise Unsupported(f"DO block statement does not parse ({exc})") from None
        for raw in parsed:
            kind, inner = next(iter(raw["stmt"].items()))
            if kind in SKIPPED and kind not in TRANSLATORS:
                continue
            if kind == "SelectStmt" and "intoClause" not in inner:
                continue
            if looped:
                raise Unsupported(f"DO block runs {kind} in a loop: {REFUSED['DoStmt']}")
            ran += _run(ctx, kind, inner, query, guarded)
    if not ctx.ops:
        raise Skip("; ".join(ctx.notes) or _DATA_ONLY)
    return f"DO block ({ran} statement{'s' if ran != 1 else ''})"


def _changes_data_only(text: str) -> bool:
    """Whether a body's JSON tree (text) has no dynamic SQL and only static statements set aside
    by their leading keywords: the walk would then find nothing to run."""
    if "PLpgSQL_stmt_dyn" in text:
        return False
    at = text.find(_EXECSQL)
    while at >= 0:
        head = _QUERY_HEAD.match(text, at + len(_EXECSQL))
        if head is None:
            return False
        query, end = _JSON.raw_decode(text, head.end())
        if type(query) is not str or inert_kind(query) is None:
            return False
        at = text.find(_EXECSQL, end)
    return True


def _run(ctx: Ctx, kind: str, node: JsonNode, query: str, guarded: bool) -> int:
    from gen_migrate.capture.normalize import TRANSLATORS, refuse_by_name

    sub = Ctx(ctx.schema, ctx.registry, ctx.state, StatementText(query, query.isascii()), 0)
    translate = TRANSLATORS.get(kind) or refuse_by_name(kind)
    try:
        translate(sub, node)
    except Skip:
        sub.rollback()
        return 0
    except Unsupported as exc:
        sub.rollback()
        if not guarded:
            raise Unsupported(f"in DO block: {exc}") from None
        ctx.notes.append(f"guarded statement not run: {exc}")
        return 0
    ctx.absorb(sub)
    return 1


def _collect_statements(
    nodes: list[JsonNode],
    guarded: bool,
    looped: bool,
    found: list[tuple[str | None, bool, bool]],
) -> None:
    """Append the static SQL under PL/pgSQL tree nodes to ``found`` in document order, each with
    whether it is guarded (under an IF or a block with EXCEPTION) or in a loop; dynamic SQL
    (EXECUTE) as ``None``."""
    for node in nodes:
        for kind, fields in node.items():
            if kind == "PLpgSQL_stmt_execsql":
                found.append((fields["sqlstmt"]["PLpgSQL_expr"]["query"], guarded, looped))
                continue
            if kind in _DYNAMIC_KINDS:
                found.append((None, guarded, looped))
                continue
            inner_guarded = (
                guarded
                or kind == "PLpgSQL_stmt_if"
                or (kind == "PLpgSQL_stmt_block" and "exceptions" in fields)
            )
            inner_looped = looped or kind in _LOOPS
            for key, value in fields.items():
                if key in _HOLDS_STATEMENTS:
                    inner = value if type(value) is list else [value]
                    _collect_statements(inner, inner_guarded, inner_looped, found)
