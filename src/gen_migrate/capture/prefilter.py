"""Statements recognised by their leading keywords, so only the rest is parsed.

Most of a migration history's text is statements that cannot change a table's columns: data
changes, function bodies, views, indexes, triggers, comments. Parsing them costs more than all
the rest, so the text is first cut at every top-level ``;`` by a scanner that knows Postgres's
quoting (strings, ``E''`` strings, quoted identifiers, dollar quotes, comments), and each piece
whose leading keywords name one of those kinds is set aside without being parsed. The other
pieces are parsed in one ``parse_sql_json`` call on the text with the set-aside statements
blanked out (same byte offsets, so locations, spans and lines stay those of the source).

Consequence, by design: a statement recognised this way is skipped with its kind's reason even
when it has a syntax error (it cannot change columns; Postgres reports the error when the
migration runs). Every piece that is not recognised goes through the parser exactly as before.

Whenever the two cuts could disagree the whole text takes the full-parse route instead
(:func:`~gen_migrate.capture.statements.split_statements`): the blanked text does not parse,
the parser's statements do not start where the scanner's pieces do, or a function has a
``BEGIN ATOMIC`` body (semicolons inside a statement).
"""

from __future__ import annotations

import re

from gen_migrate.capture.statements import LEAD, RawStatement, SourceText, from_json

_PIECE = re.compile(
    rb"""(?:
        [^;'"$\-/]+
      | (?<=[eE])(?<![A-Za-z0-9_\x80-\xff$][eE])'(?:[^'\\]|\\.|'')*'
      | '[^']*'
      | "[^"]*"
      | --[^\n]*
      | /\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/
      | (?<![A-Za-z0-9_\x80-\xff$])\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*|)\$
        [^$]*(?:\$(?!\1\$)[^$]*)*\$\1\$
      | [-/$'"]
    )*(?:;|\Z)""",
    re.VERBOSE | re.DOTALL,
)
"""Text up to and including the next top-level ``;`` (or the end). A quote that is never
closed counts as one character; the parser route then reports the text as Postgres would."""

_NAME = rb'(?:"(?:[^"]|"")+"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*)'
_HEAD = re.compile(
    rb"""(?ix)
        (?P<InsertStmt>insert)\s
      | (?P<UpdateStmt>update)\s
      | (?P<DeleteStmt>delete)\s
      | (?P<CommentStmt>comment)\s+on\s
      | create\s+(?:or\s+replace\s+)?(?P<CreateFunctionStmt>function|procedure)\s
      | create\s+(?:or\s+replace\s+)?(?:constraint\s+)?(?P<CreateTrigStmt>trigger)\s
      | create\s+(?:unique\s+)?(?P<IndexStmt>index)\s
      | create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:recursive\s+)?
        (?P<ViewStmt>view)\s+(?P<first>"""
    + _NAME
    + rb""")(?:\s*\.\s*(?P<second>"""
    + _NAME
    + rb"""))?(?=[\s(])
      | (?P<DropStmt>drop)\s+(?P<dropped>index|function|procedure|trigger)\s
      | alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?"""
    + _NAME
    + rb"""(?:\s*\.\s*"""
    + _NAME
    + rb""")?\s*\*?\s+(?P<RenameConstraint>rename)\s+constraint\s
      | alter\s+(?P<RenameIndex>index)\s+(?:if\s+exists\s+)?"""
    + _NAME
    + rb"""(?:\s*\.\s*"""
    + _NAME
    + rb""")?\s+rename\s+to\s""",
)
"""Leading keywords → node type; a view also gives its (one- or two-part) name."""

_NO_CHANGE = "no replicated table column changes"

_ATOMIC = re.compile(rb"(?i)\bbegin\s+atomic\b")
_MAX_IDENT = 63


def split_prefiltered(src: SourceText) -> list[RawStatement] | None:
    """Every statement of the text in order, those recognised by their leading keywords
    unparsed (``payload`` ``None``, a view's payload only its name); ``None`` when the text must
    take the full-parse route."""
    from pglast.parser import ParseError, parse_sql_json

    data = src.data
    size = len(data)
    slots: list[RawStatement | None] = []
    kept: list[int] = []
    kept_lines: list[int] = []
    blanked: list[bytes] = []
    done = 0
    head = _HEAD.match
    lead = LEAD.match
    count = data.count
    line, counted = 1, 0
    for piece in _PIECE.finditer(data):
        a, b = piece.span()
        if a == size:
            break
        end = b - 1 if data[b - 1] == 59 else b  # 59: ";"
        start = lead(data, a, end).end()  # type: ignore[union-attr]
        if start >= end:
            continue
        line += count(b"\n", counted, start)
        counted = start
        m = head(data, start, end)
        if m is None:
            kept.append(start)
            kept_lines.append(line)
            slots.append(None)
            continue
        payload = None
        reason = None
        if m.group("ViewStmt") is not None:
            kind = "ViewStmt"
            view = _view_ref(m.group("first"), m.group("second"))
            if view is None:
                kept.append(start)
                kept_lines.append(line)
                slots.append(None)
                continue
            payload = {"view": view}
        elif m.group("DropStmt") is not None:
            kind = "DropStmt"
            reason = f"drop {m.group('dropped').decode().lower()}: {_NO_CHANGE}"
        elif m.group("RenameConstraint") is not None:
            kind, reason = "RenameStmt", f"rename constraint: {_NO_CHANGE}"
        elif m.group("RenameIndex") is not None:
            kind, reason = "RenameStmt", f"rename index: {_NO_CHANGE}"
        else:
            kind = str(m.lastgroup)
            if kind == "CreateFunctionStmt" and _ATOMIC.search(data, start, end):
                return None
        slots.append(RawStatement(kind, payload, 0, start, end, line, reason=reason))
        blanked.append(data[done:start])
        blanked.append(b" " * (end - start))
        done = end
    if len(kept) == len(slots):
        return None
    blanked.append(data[done:])
    text = b"".join(blanked)
    try:
        parsed = from_json(text, parse_sql_json(text.decode()), 0, size)
    except ParseError:
        return None
    if len(parsed) != len(kept) or any(r.start != k for r, k in zip(parsed, kept, strict=True)):
        return None
    fill = iter(parsed)
    out: list[RawStatement] = []
    for slot in slots:
        out.append(next(fill) if slot is None else slot)
    for raw, at_line in zip(parsed, kept_lines, strict=True):
        raw.line = at_line
    return out


def _view_ref(first: bytes, second: bytes | None) -> dict[str, str] | None:
    """A view's name as a ``RangeVar``-like dict; ``None`` for a name the parser would
    truncate (63 bytes or more)."""
    parts = [_ident(first)] if second is None else [_ident(first), _ident(second)]
    if any(p is None for p in parts):
        return None
    if len(parts) == 1:
        return {"relname": parts[0]}  # type: ignore[dict-item]
    return {"schemaname": parts[0], "relname": parts[1]}  # type: ignore[dict-item]


def _ident(raw: bytes) -> str | None:
    raw = raw[1:-1].replace(b'""', b'"') if raw.startswith(b'"') else raw.lower()
    if len(raw) >= _MAX_IDENT:
        return None
    return raw.decode(errors="replace")


_SIDE_EFFECT_FREE = frozenset(
    {
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "CommentStmt",
        "CreateFunctionStmt",
        "CreateTrigStmt",
    }
)


def inert_kind(statement: str) -> str | None:
    """The node type of one statement recognised by its leading keywords as a kind that
    neither changes columns nor teaches the normaliser anything (data changes, comments,
    functions, triggers); ``None`` for every other statement."""
    data = statement.encode()
    start = LEAD.match(data).end()  # type: ignore[union-attr]
    m = _HEAD.match(data, start)
    if m is None or m.lastgroup not in _SIDE_EFFECT_FREE:
        return None
    return m.lastgroup
