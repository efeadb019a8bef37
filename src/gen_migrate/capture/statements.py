"""Split SQL text into parsed statements with their byte spans and 1-based lines.

This is the full-parse route (the normaliser tries :mod:`gen_migrate.capture.prefilter` first,
which parses only the statements it keeps, joined, and cuts the output with
:func:`from_json_kept`). The whole text is parsed once with ``pglast.parser.parse_sql_json``.
Decoding that JSON costs several times the parse, so it is cut per statement and a statement's
JSON is decoded only when its translator asks for it (most statements are skipped by their node
type alone). The cut is safe: an unescaped ``{"stmt":{"`` can only be JSON structure, never text
inside a string.

Only when the parse fails (a statement that does not parse) is the text split by pglast's
scanner and each piece parsed on its own, so one broken statement becomes one error, not a lost
file (an unclosed parenthesis stops the scanner's cut: the rest is then one error). Lines
holding a psql meta-command (``\\set``, ``\\d``…) and the data lines of ``COPY … FROM stdin``
are blanked first in that fallback: they are not SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json as _from_json

if TYPE_CHECKING:
    from gen_migrate.generic.operations import TableRef

_DECODER = json.JSONDecoder()


def decode_json(text: str) -> Any:
    """One JSON document decoded (pydantic-core's parser: about twice ``json.loads``'s speed
    on parse trees, whose keys repeat and are cached)."""
    return _from_json(text, cache_strings="keys")


LEAD = re.compile(rb"(?:\s++|--[^\n]*+|/\*.*?\*/)*+", re.DOTALL)
"""Whitespace and comments (possessive: nothing follows them in the pattern to give back to)."""
_PSQL_META = re.compile(r"^[ \t]*\\[^\n]*", re.MULTILINE)
_COPY_DATA = re.compile(
    r"^([ \t]*COPY\b[^;]*\bFROM\s+STDIN\b[^;]*;[^\n]*\n)(.*?^\\\.[ \t]*$)",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)


_STMT_HEAD = '{"stmt":{"'
_WRAPPER_TAIL = re.compile(r'(?:,"stmt_location":(\d+))?(?:,"stmt_len":(\d+))?')


@dataclass(slots=True)
class RawStatement:
    """One statement: its node type, its JSON (decoded on demand) and where it is.

    ``kind`` is empty and ``error`` set when it does not parse. ``base`` is what to subtract
    from the tree's ``location`` values to get offsets from ``start``.
    """

    kind: str
    payload: str | dict[str, Any] | None
    base: int
    start: int
    end: int
    line: int
    error: str | None = None
    reason: str | None = None
    """Why a statement set aside unparsed is skipped, when its node type does not say it."""
    forgets: tuple[TableRef, ...] = ()
    """Views a DROP VIEW set aside unparsed drops (no longer known as non-replicated)."""

    def field(self, name: str) -> Any:
        """One top-level field of the node, decoding only that field when it comes first."""
        if isinstance(self.payload, str):
            head = f'{{"{name}":'
            if self.payload.startswith(head):
                return _DECODER.raw_decode(self.payload, len(head))[0]
        return self.node().get(name)

    def node(self) -> dict[str, Any]:
        """The statement's JSON node (the value under its node type)."""
        if isinstance(self.payload, str):
            self.payload = _from_json(self.payload, cache_strings="keys")
        assert isinstance(self.payload, dict)
        return self.payload


class SourceText:
    """The text being normalised, as UTF-8 bytes (pglast locations are byte offsets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode()
        self.ascii = len(self.data) == len(text)
        self._at, self._line = 0, 1

    def line_of(self, offset: int) -> int:
        """1-based line of a byte offset (fast when asked in increasing order)."""
        if offset < self._at:
            self._at, self._line = 0, 1
        self._line += self.data.count(b"\n", self._at, offset)
        self._at = offset
        return self._line

    def byte_offset(self, char_offset: int) -> int:
        """Byte offset of a character offset."""
        if self.ascii:
            return char_offset
        return len(self.text[:char_offset].encode())

    def decode(self, start: int, end: int) -> str:
        """Text of a byte span."""
        return self.data[start:end].decode(errors="replace")


def split_statements(src: SourceText) -> list[RawStatement]:
    """Every statement of the text, in order; unparsable ones carry ``error``."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        text = parse_sql_json(src.text)
    except ParseError:
        out = _split_slow(src)
    else:
        out = from_json(src.data, text, 0, len(src.data))
    number_lines(src, out)
    return out


def number_lines(src: SourceText, statements: list[RawStatement]) -> None:
    """Set each statement's 1-based line (``statements`` in text order)."""
    for raw in statements:
        raw.line = src.line_of(raw.start)


def _wrappers(text: str) -> Iterator[tuple[str, str, str | None, str | None]]:
    """Each statement of ``parse_sql_json`` output ``text``: its node type, its node's JSON, and
    its ``stmt_location`` and ``stmt_len`` as written (``None`` when left out, i.e. zero)."""
    find = text.find
    rfind = text.rfind
    wrapper_tail = _WRAPPER_TAIL.fullmatch
    head = len(_STMT_HEAD)
    at = find(_STMT_HEAD)
    while at >= 0:
        kind_end = find('"', at + head)
        kind = text[at + head : kind_end]
        at = find(_STMT_HEAD, kind_end)
        # The wrapper ends with '}},"stmt_location":N,"stmt_len":M}' (zero values left out)
        # just before the next statement's ',' (or the list's ']'): the last '}' before the
        # final one closes the node.
        seg_end = at - 1 if at >= 0 else rfind("]")
        close = rfind("}", kind_end, seg_end - 1)
        tail = wrapper_tail(text, close + 1, seg_end - 1) if text[seg_end - 1] == "}" else None
        if close < 0 or tail is None:
            raise ValueError(f"unexpected parse tree layout near offset {kind_end}")
        yield kind, text[kind_end + 2 : close], tail.group(1), tail.group(2)


def from_json(data: bytes | bytearray, text: str, base: int, limit: int) -> list[RawStatement]:
    """The statements of ``parse_sql_json`` output ``text`` for the bytes ``data[base:limit]``
    (``data`` may be the whole source; lines are left 0 for :func:`number_lines`)."""
    out: list[RawStatement] = []
    lead = LEAD.match
    for kind, node, at_loc, at_len in _wrappers(text):
        loc = base + int(at_loc) if at_loc else base
        end = loc + int(at_len) if at_len else limit
        start = lead(data, loc, end).end()  # type: ignore[union-attr]
        out.append(RawStatement(kind, node, start - base, start, end, 0))
    return out


def from_json_kept(
    tree: str, size: int, kept: list[tuple[int, int, int, int]]
) -> list[RawStatement] | None:
    """The statements of ``tree``, the ``parse_sql_json`` output for the statements a scanner
    kept joined by ``;`` (``size`` bytes): each of ``kept`` is a statement's offset in that
    text and its start, end and line in the source. The tree's locations stay those of the
    joined text (``base`` is the offset). ``None`` when the parser's statements are not the
    scanner's: each must start and end where the scanner's does.

    Since the scanner says where each statement is, its wrapper's end is known in advance and
    only compared: the tree is cut at every ``{"stmt":{"`` and each piece must end with it."""
    pieces = tree.split(_STMT_HEAD)
    if len(pieces) != len(kept) + 1:
        return None
    out: list[RawStatement] = []
    for (at, start, end, line), piece in zip(kept, pieces[1:], strict=True):
        # '<kind>":<node>},"stmt_location":N,"stmt_len":M},' with zero values left out: the
        # first statement is at 0, the last one's length 0 (to the end), then ']}' ends the tree
        location = f',"stmt_location":{at}' if at else ""
        length = end - start
        if at + length < size:
            tail = f'}}{location},"stmt_len":{length}}},'
        elif at + length == size:
            tail = f"}}{location}}}]}}"
        else:
            return None
        if not piece.endswith(tail):
            return None
        kind_end = piece.find('"')
        node = piece[kind_end + 2 : len(piece) - len(tail)]
        out.append(RawStatement(piece[:kind_end], node, at, start, end, line))
    return out


def _split_slow(src: SourceText) -> list[RawStatement]:
    from pglast.parser import ParseError, parse_sql_json, split

    text = _COPY_DATA.sub(lambda m: m.group(1) + _blank(m.group(2)), src.text)
    text = _PSQL_META.sub(lambda m: " " * len(m.group(0)), text)
    try:
        slices = split(text, with_parser=False, only_slices=True)
    except ParseError as exc:
        start = LEAD.match(src.data, 0).end()  # type: ignore[union-attr]
        return [RawStatement("", None, 0, start, len(src.data), src.line_of(start), _msg(exc))]
    out: list[RawStatement] = []
    for sl in slices:
        piece = text[sl]
        start, end = src.byte_offset(sl.start), src.byte_offset(sl.stop)
        if not piece.strip().rstrip(";").strip():
            continue
        lead = LEAD.match(src.data, start, end)
        first = lead.end() if lead else start
        try:
            tree = parse_sql_json(piece)
        except ParseError as exc:
            out.append(RawStatement("", None, 0, first, end, src.line_of(first), _msg(exc)))
            continue
        out.extend(from_json(src.data, tree, start, end))
    # The scanner's cut stops at a parenthesis that is never closed; what follows it is one
    # error, not lost text.
    at = src.byte_offset(slices[-1].stop) if slices else 0
    while True:
        at = LEAD.match(src.data, at).end()  # type: ignore[union-attr]
        if src.data[at : at + 1] != b";":
            break
        at += 1
    if at < len(src.data):
        reason = (
            "does not parse (cannot be cut into statements from here on: "
            "is a parenthesis never closed?)"
        )
        out.append(RawStatement("", None, 0, at, len(src.data), src.line_of(at), reason))
    return out


def _blank(text: str) -> str:
    """Spaces in place of every character but newlines (offsets and lines stay)."""
    return re.sub(r"[^\n]", " ", text)


def _msg(exc: Exception) -> str:
    return f"does not parse ({exc.args[0] if exc.args else exc})"
