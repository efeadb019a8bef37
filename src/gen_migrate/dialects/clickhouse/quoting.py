"""Quoting of ClickHouse identifiers and string literals: every name the dialect writes goes
through here, so names with quotes, backticks, spaces or semicolons never inject."""

from __future__ import annotations

_IDENT_ESCAPES = {"\\": "\\\\", "`": "\\`"}
_LITERAL_ESCAPES = {"\\": "\\\\", "'": "\\'"}


def ident(name: str) -> str:
    """``name`` as a backtick-quoted identifier (backslashes and backticks escaped)."""
    if "\x00" in name:
        raise ValueError(f"identifier contains a NUL byte: {name!r}")
    return "`" + "".join(_IDENT_ESCAPES.get(ch, ch) for ch in name) + "`"


def qualified(database: str, table: str) -> str:
    """``database.table``, both quoted."""
    return f"{ident(database)}.{ident(table)}"


def literal(value: str) -> str:
    """``value`` as a single-quoted string literal."""
    return "'" + "".join(_LITERAL_ESCAPES.get(ch, ch) for ch in value) + "'"


def on_cluster(cluster: str | None) -> str:
    """`` ON CLUSTER `name` `` or the empty string."""
    return f" ON CLUSTER {ident(cluster)}" if cluster else ""
