"""Source text of small expressions (defaults, ``USING``, generated columns) inside a statement.

The JSON parse tree gives only start locations, so the text is sliced from the source: the
expression starts after the keyword that introduces it (``DEFAULT``, ``USING``, ``AS``) and runs
until a top-level ``,``/``;``, an unbalanced ``)`` or, for a column default, the keyword of the
next column constraint. The scanner runs on one statement only, and only when it has such an
expression; nothing builds pglast's Python AST.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

_OPEN = {"ASCII_40", "ASCII_91", "CASE"}
_CLOSE = {"ASCII_41", "ASCII_93", "END_P"}
_END = {"ASCII_44", "ASCII_59"}
_CONSTRAINT_START = {
    "CONSTRAINT",
    "NOT",
    "NULL_P",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "REFERENCES",
    "GENERATED",
    "COLLATE",
    "DEFERRABLE",
    "INITIALLY",
}


_TOKEN = re.compile(
    r"""\s*(?P<t>
        --[^\n]*
      | /\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/
      | [eE]'(?:[^'\\]|\\.|'')*'
      | '[^']*'
      | "[^"]*"
      | (?P<w>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
      | \$(?P<tag>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*|)\$
        [^$]*(?:\$(?!(?P=tag)\$)[^$]*)*\$(?P=tag)\$
      | \$[0-9]+
      | [0-9.]+(?:[eE][-+]?[0-9]+)?
      | (?:[+*<>=~!@\#%^&|`?]|-(?!-)|/(?!\*))+
      | (?P<p>\S)
    )""",
    re.VERBOSE | re.DOTALL,
)
"""One token after optional whitespace: a comment, string, quoted identifier, word, dollar
quote, parameter, number, operator or single character (``p``)."""

_PUNCT = {"(": "ASCII_40", ")": "ASCII_41", "[": "ASCII_91", "]": "ASCII_93", ",": "ASCII_44"}
_PUNCT[";"] = "ASCII_59"
_WORDS = {"CASE": "CASE", "END": "END_P", "NULL": "NULL_P"}
_WORDS.update((k, k) for k in _CONSTRAINT_START if k != "NULL_P")
_LEADS: dict[str, re.Pattern[str]] = {}


def _lead(keyword: str) -> re.Pattern[str]:
    pattern = _LEADS.get(keyword)
    if pattern is None:
        pattern = _LEADS[keyword] = re.compile(rf"(?i)\b({keyword})\b[\s(]*\Z")
    return pattern


def _keyword_end_before(text: str, keyword: str, lo: int, at: int) -> int:
    """Where ``keyword`` ends when it is the last word before ``at`` (only whitespace and
    ``(`` between), starting at ``lo`` or later; -1 when it is not. For ASCII text, what
    ``_lead(keyword).search(text, lo, at)`` finds, without trying every start position."""
    end = at
    while end > lo and (text[end - 1].isspace() or text[end - 1] == "("):
        end -= 1
    start = end - len(keyword)
    if start < lo or text[start:end].upper() != keyword:
        return -1
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return -1
    return end


def _tokens_from(text: str, pos: int) -> Iterator[tuple[int, int, str]]:
    """``(start, end inclusive, name)`` of each token from ``pos`` on, named as pglast's
    scanner names the punctuation and keywords :meth:`StatementText.expression_after` looks
    at (``IDENT``/``OTHER`` for the rest)."""
    for m in _TOKEN.finditer(text, pos):
        start, stop = m.span("t")
        word = m.group("w")
        if word is not None:
            name = _WORDS.get(word.upper(), "IDENT")
        else:
            punct = m.group("p")
            name = "OTHER" if punct is None else _PUNCT.get(punct, "OTHER")
        yield start, stop - 1, name


_SIMPLE = re.compile(
    r"""\s*(?P<e>
        (?P<w>[A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_$\x80-\U0010ffff])(?:\s*\(\s*\))?
      | [0-9]+(?:\.[0-9]+)?(?![0-9.])
      | '[^'\\]*'
    )\s*(?:
        (?P<stop>[,;)\]])
      | (?P<kw>[A-Za-z_]+)(?![A-Za-z0-9_$\x80-\U0010ffff])
      | \Z
    )""",
    re.VERBOSE,
)
"""The common expression: one word (maybe called without arguments), number or plain string,
followed by the end, a ``,``/``;``/``)``/``]`` or a word."""


def _simple_expression(text: str, pos: int, column_constraint: bool) -> str | None:
    """What the token walk of :meth:`StatementText.expression_after` returns from ``pos`` when
    the expression is one :data:`_SIMPLE` token; ``None`` when it is not (or may not be)."""
    m = _SIMPLE.match(text, pos)
    if m is None:
        return None
    word = m.group("w")
    if word is not None and word.upper() in ("CASE", "END"):
        return None
    follower = m.group("kw")
    if follower is not None and (
        not column_constraint or _WORDS.get(follower.upper()) not in _CONSTRAINT_START
    ):
        return None
    return m.group("e")


def min_location(node: Any) -> int:
    """Smallest non-negative ``location`` in a JSON subtree (-1 when there is none)."""
    best = -1
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key, value in cur.items():
                if key == "location":
                    if isinstance(value, int) and value >= 0 and (best < 0 or value < best):
                        best = value
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(cur, list):
            stack.extend(cur)
    return best


class StatementText:
    """One statement's text with its scanner tokens, built on first use."""

    __slots__ = ("_encoded", "_last_comment", "_tokens", "ascii", "text")

    def __init__(self, text: str, ascii_only: bool) -> None:
        self.text = text
        self.ascii = ascii_only
        self._tokens: list[Any] | None = None
        self._encoded: bytes | None = None
        # where the last "/*" starts (-1: none): an expression after it may hold a comment
        self._last_comment = text.rfind("/*")

    def tokens(self) -> list[Any]:
        """pglast scanner tokens (character offsets, ``end`` inclusive)."""
        if self._tokens is None:
            from pglast.parser import scan

            self._tokens = list(scan(self.text))
        return self._tokens

    def char_offset(self, byte_offset: int) -> int:
        """Character offset of a byte offset relative to the statement start."""
        if self.ascii:
            return byte_offset
        if self._encoded is None:
            self._encoded = self.text.encode()
        return len(self._encoded[:byte_offset].decode(errors="ignore"))

    def expression_after(self, keyword: str, at: int, *, column_constraint: bool = False) -> str:
        """Text of the expression following the last ``keyword`` token that starts before
        character offset ``at`` (the expression's first location).

        With ``column_constraint`` the expression also ends at the keyword of a following
        column constraint (``NOT NULL``, ``REFERENCES``…). For ``AS`` (generated columns) the
        parenthesised expression is returned without its parentheses.
        """
        text = self.text
        size = len(keyword)
        if (
            text[at : at + size].upper() == keyword
            and not text[at + size : at + size + 1].isalnum()
        ):
            after = at + size
        elif self.ascii:
            after = _keyword_end_before(text, keyword, max(0, at - 512), at)
        else:
            found = _lead(keyword).search(text, max(0, at - 512), at)
            after = -1 if found is None else found.end(1)
        if after < 0 or after <= self._last_comment:
            return self._scanned_expression_after(keyword, at, column_constraint)
        if keyword != "AS":
            simple = _simple_expression(text, after, column_constraint)
            if simple is not None:
                return simple
        tokens = _tokens_from(text, after)
        head = next(tokens, None)
        if head is not None and keyword == "AS" and head[2] == "ASCII_40":
            head = next(tokens, None)
        if head is None:
            return ""
        depth = 0
        last = -1
        for start, end, name in chain((head,), tokens):
            if depth == 0:
                if name in _END:
                    break
                if name in _CLOSE and name != "END_P":
                    break
                if column_constraint and start > head[0] and name in _CONSTRAINT_START:
                    break
            if name in _OPEN:
                depth += 1
            elif name in _CLOSE:
                depth -= 1
            last = end
        if last < 0:
            return ""
        return text[head[0] : last + 1]

    def _scanned_expression_after(self, keyword: str, at: int, column_constraint: bool) -> str:
        """:meth:`expression_after` on pglast's scanner tokens of the whole statement (for
        the rare text the quick path does not read: comments around the expression)."""
        toks = self.tokens()
        idx = -1
        for i, tok in enumerate(toks):
            if tok.start > at:
                break
            if tok.name == keyword:
                idx = i
        if idx < 0 or idx + 1 >= len(toks):
            return ""
        first = idx + 1
        if keyword == "AS" and toks[first].name == "ASCII_40":
            first += 1
        depth = 0
        last = first - 1
        for j in range(first, len(toks)):
            name = toks[j].name
            if depth == 0:
                if name in _END:
                    break
                if name in _CLOSE and name != "END_P":
                    break
                if column_constraint and j > first and name in _CONSTRAINT_START:
                    break
            if name in _OPEN:
                depth += 1
            elif name in _CLOSE:
                depth -= 1
            last = j
        if last < first:
            return ""
        return self.text[toks[first].start : toks[last].end + 1]
