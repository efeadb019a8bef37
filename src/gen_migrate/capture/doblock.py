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

import re
from collections.abc import Iterator
from typing import Any

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
_NO_STATEMENTS = frozenset({"datums", "PLpgSQL_expr"})
"""Keys of a PL/pgSQL tree whose values hold no statement (variables, expressions): the walk
does not go into them."""
_DYNAMIC = object()
"""Marks dynamic SQL (EXECUTE) in the walk, refused when the walk reaches it."""
_DATA_ONLY = "DO block without DDL (changes data only)"
_EXECSQL = re.compile(
    r'"PLpgSQL_stmt_execsql":\{"lineno":\d+,"sqlstmt":\{"PLpgSQL_expr":\{"query":("(?:[^"\\]++|\\.)*+")'
)
"""The query (a JSON string) of a static SQL statement in a PL/pgSQL tree's JSON text."""
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
    ran = 0
    for query, guarded, looped in _statements(tree, False, False):
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
    queries = _EXECSQL.findall(text)
    if len(queries) != text.count('"PLpgSQL_stmt_execsql"'):
        return False
    return all(inert_kind(decode_json(query)) is not None for query in queries)


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


def _statements(node: Any, guarded: bool, looped: bool) -> Iterator[tuple[str, bool, bool]]:
    """The static SQL of a PL/pgSQL tree in document order, each with whether it is guarded
    (under an IF or a block with EXCEPTION) or in a loop."""
    stack: list[tuple[Any, bool, bool]] = [(node, guarded, looped)]
    while stack:
        cur, guarded, looped = stack.pop()
        if cur is _DYNAMIC:
            raise Unsupported(f"DO block runs dynamic SQL (EXECUTE): {REFUSED['DoStmt']}")
        if type(cur) is str:
            yield cur, guarded, looped
            continue
        if type(cur) is list:
            stack.extend((item, guarded, looped) for item in reversed(cur))
            continue
        todo: list[tuple[Any, bool, bool]] = []
        for key, value in cur.items():
            if key == "PLpgSQL_stmt_execsql":
                todo.append((value["sqlstmt"]["PLpgSQL_expr"]["query"], guarded, looped))
            elif key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
                todo.append((_DYNAMIC, guarded, looped))
            elif key == "PLpgSQL_stmt_if":
                todo.append((value, True, looped))
            elif key == "PLpgSQL_stmt_block":
                todo.append((value, guarded or "exceptions" in value, looped))
            elif key in _LOOPS:
                todo.append((value, guarded, True))
            elif key in _NO_STATEMENTS:
                continue
            elif type(value) is dict or type(value) is list:
                todo.append((value, guarded, looped))
        todo.reverse()
        stack.extend(todo)
