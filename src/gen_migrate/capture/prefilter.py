"""Statements recognised by their leading keywords, so only the rest is parsed.

Most of a migration history's text is statements that cannot change a table's columns: data
changes, function bodies, views (created or dropped, materialized or not), indexes, triggers,
comments, and single-action ALTER TABLEs that add a foreign key or unique constraint, drop or
validate a constraint, change the owner or enable or disable a trigger. Parsing them costs more
than all the rest, so the text is first cut at every top-level ``;`` by a scanner that knows
Postgres's quoting (strings, ``E''`` strings, quoted identifiers, dollar quotes, comments), and
each piece whose leading keywords name one of those kinds is set aside without being parsed.
The other pieces are parsed in one ``parse_sql_json`` call on just them, joined by ``;`` (the
whitespace and comments between statements are not worth the parser's time either); each keeps
its offset in that text as ``base``, so the tree's locations still point into its own text.

Consequence, by design: a statement recognised this way is skipped with its kind's reason even
when it has a syntax error (it cannot change columns; Postgres reports the error when the
migration runs). Every piece that is not recognised goes through the parser exactly as before.

Whenever the two cuts could disagree the whole text takes the full-parse route instead
(:func:`~gen_migrate.capture.statements.split_statements`): the joined text does not parse,
the parser's statements do not start and end where the scanner's pieces do, or a function has a
``BEGIN ATOMIC`` body (semicolons inside a statement).
"""

from __future__ import annotations

import re
from typing import cast

from gen_migrate.capture.pgtypes import table_ref
from gen_migrate.capture.statements import LEAD, RawStatement, SourceText, from_json_kept
from gen_migrate.generic.operations import TableRef

_PIECE = re.compile(
    rb"""(\s*+)((?:\s++|--[^\n]*+|/\*(?:[^*/]++|\*(?!/)|/(?!\*))*\*/)*+)(?:
        [\x00-!#%&(-,.0-:<-\xff]++
      | '(?<=[eE]')(?<![A-Za-z0-9_\x80-\xff$][eE]')(?:[^'\\]|\\.|'')*'
      | '[^']*+'
      | "[^"]*+"
      | --[^\n]*+
      | /\*(?:[^*/]++|\*(?!/)|/(?!\*))*\*/
      | \$(?<![A-Za-z0-9_\x80-\xff$]\$)([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+|)\$
        [^$]*+(?:\$(?!\3\$)[^$]*+)*+\$\3\$
      | [-/$'"]
    )*+(?:;|\Z)""",
    re.VERBOSE | re.DOTALL,
)
"""Text up to and including the next top-level ``;`` (or the end), its leading whitespace in
group 1 and the comments and whitespace after that in group 2 (a comment the body would not read
as one, such as a nested one, ends it: :data:`~gen_migrate.capture.statements.LEAD` then goes on
from there). A quote that is never closed counts as one character; the parser route then
reports the text as Postgres would. Every character but a top-level ``;`` is matched by some
alternative, so the match never backtracks: the quantifiers are possessive (no backtracking
state is kept), except inside an ``E''`` string, whose ``''`` may have to be given back.

Written for the regex engine's speed: the first alternative is every byte but ``;'"$-/`` as
ranges (a negated class costs an extra step per byte), and every alternative starts with a byte
to compare (lookbehinds come after it), so the engine rules most of them out at a glance."""

_NAME = rb'(?:"(?:[^"]|"")++"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*+)'
"""An identifier, possessive: what may follow one (space, ``.``, ``*``, ``(``) cannot be in it."""
_HEAD_ALTERNATIVES: list[tuple[bytes, bytes]] = [
    (b"i", rb"(?P<InsertStmt>insert)\s"),
    (b"u", rb"(?P<UpdateStmt>update)\s"),
    (b"d", rb"(?P<DeleteStmt>delete)\s"),
    (b"c", rb"(?P<CommentStmt>comment)\s+on\s"),
    (b"c", rb"create\s+(?:or\s+replace\s+)?(?P<CreateFunctionStmt>function|procedure)\s"),
    (b"c", rb"create\s+(?:or\s+replace\s+)?(?:constraint\s+)?(?P<CreateTrigStmt>trigger)\s"),
    (b"c", rb"create\s+(?:unique\s+)?(?P<IndexStmt>index)\s"),
    (b"c", rb"create\s+(?P<MatView>materialized)\s+view\s"),
    (
        b"c",
        rb"""create\s+(?:or\s+replace\s+)?(?:temp\s+|temporary\s+)?(?:recursive\s+)?
        (?P<ViewStmt>view)\s+(?P<first>"""
        + _NAME
        + rb""")(?:\s*\.\s*(?P<second>"""
        + _NAME
        + rb"""))?(?=[\s(])""",
    ),
    (b"d", rb"(?P<DropStmt>drop)\s+(?P<dropped>index|function|procedure|trigger)\s"),
    (b"d", rb"drop\s+(?P<DropView>(?:materialized\s+)?view)\s"),
    (
        b"a",
        rb"""alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?"""
        + _NAME
        + rb"""(?:\s*\.\s*"""
        + _NAME
        + rb""")?\s*\*?\s+(?:
            (?P<RenameConstraint>rename)\s+constraint\s
          | (?P<AlterTable>(?=[aAdDvVoOeE]))
        )""",
    ),
    (
        b"a",
        rb"""alter\s+(?P<RenameIndex>index)\s+(?:if\s+exists\s+)?"""
        + _NAME
        + rb"""(?:\s*\.\s*"""
        + _NAME
        + rb""")?\s+rename\s+to\s""",
    ),
]
"""The alternatives of :data:`_HEAD` in order, each with the letter it starts with."""


def _heads(letter: bytes | None) -> re.Pattern[bytes]:
    alternatives = [alt for first, alt in _HEAD_ALTERNATIVES if letter in (None, first)]
    return re.compile(rb"(?ix)(?:" + rb")|(?:".join(alternatives) + rb")")


_HEAD = _heads(None)
"""Leading keywords → node type; a view also gives its (one- or two-part) name. An ALTER TABLE
(``AlterTable``) or DROP VIEW (``DropView``) is set aside only when :data:`_QUIET_ALTER` or
:data:`_DROP_VIEWS` also matches the rest of the statement."""

_QNAME = _NAME + rb"(?:\s*\.\s*" + _NAME + rb")?"
_COLUMNS = rb"\(\s*" + _NAME + rb"(?:\s*,\s*" + _NAME + rb")*\s*\)"
_QUIET_ALTER = re.compile(
    rb"""(?ix)(?:
        add\s+(?:constraint\s+"""
    + _NAME
    + rb"""\s+)?(?:
            (?P<foreign>foreign)\s+key\s*"""
    + _COLUMNS
    + rb"""\s*references\s+"""
    + _QNAME
    + rb"""(?:\s*"""
    + _COLUMNS
    + rb""")?(?:\s+match\s+(?:full|partial|simple))?
            (?:\s+on\s+(?:delete|update)\s+(?:no\s+action|restrict|cascade|set\s+(?:null|default)))*
          | (?P<unique>unique)\s*"""
    + _COLUMNS
    + rb"""
        )(?:\s+not\s+valid|\s+(?:not\s+)?deferrable|\s+initially\s+(?:deferred|immediate))*
      | (?P<drop>drop)\s+constraint\s+(?:if\s+exists\s+)?"""
    + _NAME
    + rb"""(?:\s+(?:cascade|restrict))?
      | (?P<validate>validate)\s+constraint\s+"""
    + _NAME
    + rb"""
      | (?P<owner>owner)\s+to\s+"""
    + _NAME
    + rb"""
      | (?P<trigger>enable|disable)\s+trigger\s+(?P<which>"""
    + _NAME
    + rb""")
    )\s*\Z"""
)
"""The rest of a single-action ALTER TABLE (after the table's name) that changes no column, up
to the end of the statement (so a second action never matches): a foreign key or unique
constraint added, a constraint dropped or validated, a new owner, a trigger enabled or
disabled."""
_QUIET_REASONS = {
    "foreign": "add constraint foreign",
    "unique": "add constraint unique",
    "drop": "drop constraint",
    "validate": "validate constraint",
    "owner": "owner",
}
"""What ``normalize_alter.shallow_skip`` says of each action (the reason must be the same)."""

_DROP_VIEWS = re.compile(
    rb"(?ix)(?:if\s+exists\s+)?(?P<names>"
    + _QNAME
    + rb"(?:\s*,\s*"
    + _QNAME
    + rb")*)(?:\s+(?:cascade|restrict))?\s*\Z"
)
"""The rest of a DROP [MATERIALIZED] VIEW: its names, to the end of the statement."""
_NAME_PARTS = re.compile(rb"(" + _NAME + rb")(?:\s*\.\s*(" + _NAME + rb"))?")

_HEAD_BY_FIRST = {byte: _heads(bytes([byte]).lower()).match for byte in b"iIuUdDcCaA"}
"""First bytes :data:`_HEAD` can match at → :data:`_HEAD` with only the alternatives that start
with that letter (the same matches, without trying the others first)."""
_COMMENT_START = frozenset(b"-/")
_NO_CHANGE = "no replicated table column changes"

_ATOMIC = re.compile(rb"(?i)\bbegin\s+atomic\b")
_MAX_IDENT = 63


def _atomic(data: bytes, start: int, end: int) -> bool:
    """Whether a function's text has a ``BEGIN ATOMIC`` body. Most bodies do not even hold the
    word, which a case-folded substring search (C speed) rules out before the regex runs."""
    if b"atomic" not in data[start:end].lower():
        return False
    return _ATOMIC.search(data, start, end) is not None


def split_prefiltered(src: SourceText) -> list[RawStatement] | None:
    """Every statement of the text in order, those recognised by their leading keywords
    unparsed (``payload`` ``None``, a view's payload only its name); ``None`` when the text must
    take the full-parse route."""
    from pglast.parser import ParseError, parse_sql_json

    data = src.data
    size = len(data)
    slots: list[RawStatement | None] = []
    kept: list[tuple[int, int, int, int]] = []  # offset in the parsed text, start, end, line
    kept_at: list[int] = []  # index in slots
    parts: list[bytes] = []  # the kept statements, each followed by ";"
    at = 0  # where the next kept statement starts in the parsed text
    heads = _HEAD_BY_FIRST
    lead = LEAD.match
    count = data.count
    line, counted = 1, 0
    for piece in _PIECE.finditer(data):
        regs = piece.regs
        a, b = regs[0]
        start = regs[2][1]
        if a == size:
            break
        end = b - 1 if data[b - 1] == 59 else b  # 59: ";"
        if start >= end:
            continue
        first = data[start]
        if first in _COMMENT_START:
            start = lead(data, start, end).end()  # type: ignore[union-attr]
            if start >= end:
                continue
            first = data[start]
        line += count(b"\n", counted, start)
        counted = start
        head = heads.get(first)
        m = head(data, start, end) if head is not None else None
        if m is not None:
            kind: str = m.lastgroup  # type: ignore[assignment]
            if kind in _NAMED_KINDS:
                if kind == "CreateFunctionStmt" and _atomic(data, start, end):
                    return None
                slots.append(RawStatement(kind, None, 0, start, end, line))
                continue
            if kind == "AlterTable":  # the most frequent kind with a reason of its own
                quiet = _quiet_alter(data, m.end(), end)
                if quiet is not None:
                    slots.append(
                        RawStatement("AlterTableStmt", None, 0, start, end, line, None, quiet)
                    )
                    continue
            else:
                raw = _set_aside(m, kind, data, start, end, line)
                if raw is not None:
                    slots.append(raw)
                    continue
        kept.append((at, start, end, line))
        kept_at.append(len(slots))
        slots.append(None)
        parts.append(data[start:end])
        at += end - start + 1
    if len(kept) == len(slots):
        return None
    joined = b";".join(parts)
    try:
        parsed = from_json_kept(parse_sql_json(joined.decode()), len(joined), kept)
    except ParseError:
        return None
    if parsed is None:
        return None
    for i, raw in zip(kept_at, parsed, strict=True):
        slots[i] = raw
    return cast(list[RawStatement], slots)


def _set_aside(
    m: re.Match[bytes], kind: str, data: bytes, start: int, end: int, line: int
) -> RawStatement | None:
    """The statement whose leading keywords :data:`_HEAD` matched (``kind`` its last group, not
    ``AlterTable``: :func:`split_prefiltered` sees to that one itself) when it is set aside with
    a reason of its own; ``None`` when it must be parsed."""
    if kind == "dropped":
        reason = f"drop {m.group('dropped').decode().lower()}: {_NO_CHANGE}"
        return RawStatement("DropStmt", None, 0, start, end, line, None, reason)
    if kind == "MatView":
        return RawStatement(
            "CreateTableAsStmt", None, 0, start, end, line, None, "materialized view"
        )
    if kind == "RenameConstraint":
        reason = f"rename constraint: {_NO_CHANGE}"
        return RawStatement("RenameStmt", None, 0, start, end, line, None, reason)
    if kind == "RenameIndex":
        reason = f"rename index: {_NO_CHANGE}"
        return RawStatement("RenameStmt", None, 0, start, end, line, None, reason)
    if kind == "DropView":
        dropped = _dropped_views(data, m.end(), end)
        if dropped is None:
            return None
        what = b" ".join(m.group("DropView").lower().split()).decode()
        reason = f"drop {what}: {_NO_CHANGE}"
        return RawStatement("DropStmt", None, 0, start, end, line, None, reason, dropped)
    # the last group of a view is its name's first or second part
    view = _view_ref(m.group("first"), m.group("second"))
    if view is None:
        return None
    return RawStatement("ViewStmt", {"view": view}, 0, start, end, line)


def _quiet_alter(data: bytes, start: int, end: int) -> str | None:
    """Why the rest of an ALTER TABLE from ``start`` is skipped, when it is one action that
    changes no column; ``None`` when it must be parsed."""
    m = _QUIET_ALTER.match(data, start, end)
    if m is None:
        return None
    action = str(m.lastgroup)
    if action == "which":
        which = m.group("which").lower()
        plural = "s" if which in (b"all", b"user") else ""
        return f"no column change ({m.group('trigger').lower().decode()} trigger{plural})"
    return f"no column change ({_QUIET_REASONS[action]})"


def _dropped_views(data: bytes, start: int, end: int) -> tuple[TableRef, ...] | None:
    """The views a DROP VIEW names from ``start`` on; ``None`` when it must be parsed."""
    m = _DROP_VIEWS.match(data, start, end)
    if m is None:
        return None
    refs = []
    for part in _NAME_PARTS.finditer(m.group("names")):
        view = _view_ref(part.group(1), part.group(2))
        if view is None:
            return None
        refs.append(table_ref(view.get("schemaname", "public"), view["relname"]))
    return tuple(refs)


def _view_ref(first: bytes, second: bytes | None) -> dict[str, str] | None:
    """A view's name as a ``RangeVar``-like dict; ``None`` for a name the parser would
    truncate (63 bytes or more)."""
    parts = [_ident(first)] if second is None else [_ident(first), _ident(second)]
    if None in parts:
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

_NAMED_KINDS = _SIDE_EFFECT_FREE | {"IndexStmt"}
"""Node types set aside with no reason of their own (their node type says it)."""


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
