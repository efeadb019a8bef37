"""Source text of small expressions (defaults, ``USING``, generated columns) inside a statement.

The JSON parse tree gives only start locations, so the text is sliced from the source: the
expression starts after the keyword that introduces it (``DEFAULT``, ``USING``, ``AS``) and runs
until a top-level ``,``/``;``, an unbalanced ``)`` or, for a column default, the keyword of the
next column constraint. The scanner runs on one statement only, and only when it has such an
expression; nothing builds pglast's Python AST.
"""

from __future__ import annotations

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

    def __init__(self, text: str, ascii_only: bool) -> None:
        self.text = text
        self.ascii = ascii_only
        self._tokens: list[Any] | None = None
        self._encoded: bytes | None = None

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
