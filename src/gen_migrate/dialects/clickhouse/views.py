"""Materialized-view SELECTs read and rewritten with sqlglot's ClickHouse dialect.

A column reference *belongs* to a source table when its qualifier names that table (or its
alias, or a CTE that is ``SELECT * FROM`` it), or when it is unqualified in a SELECT whose FROM
or JOIN reads the table. A belonging reference is *pass-through* when it is a top-level
projection item (``col`` or ``q.col AS out``); anywhere else it is a use the dialect cannot
rewrite away (WHERE, JOIN, GROUP BY, expressions, other CTEs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

DIALECT = "clickhouse"


def parse(sql: str) -> exp.Expression:
    """Parse one ClickHouse SELECT; raises ``ValueError`` with sqlglot's message.

    Returns a fresh tree the caller may change (parses are cached, copies are cheaper)."""
    return _parse_cached(sql).copy()


@lru_cache(maxsize=512)
def _parse_cached(sql: str) -> exp.Expression:
    try:
        tree: Any = sqlglot.parse_one(sql, read=DIALECT)
    except ParseError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(tree, exp.Expression):
        raise ValueError("empty query")
    return tree


def render(tree: exp.Expression) -> str:
    """ClickHouse SQL of a tree, every identifier quoted."""
    return tree.sql(dialect=DIALECT, identify=True)


def column_refs(expr: str) -> set[str]:
    """Names of the columns an expression list (a sorting key, a DEFAULT, a projection query)
    mentions; empty for an empty expression."""
    text = expr.strip()
    if not text:
        return set()
    sql = text if text.upper().startswith(("SELECT", "WITH")) else f"SELECT {text}"
    try:
        tree = parse(sql)
    except ValueError:
        return set()
    return {c.name for c in tree.find_all(exp.Column)}


def _table_matches(node: exp.Table, table: str, database: str) -> bool:
    return node.name == table and node.db in ("", database)


def _is_star_select(select: exp.Expression) -> bool:
    return isinstance(select, exp.Select) and any(
        isinstance(e, exp.Star) for e in select.expressions
    )


@dataclass
class _Source:
    name: str
    alias: str
    ours: bool


def _sources(select: exp.Select, table: str, database: str, stars: set[str]) -> list[_Source]:
    found: list[_Source] = []
    from_ = select.args.get("from_") or select.args.get("from")
    items: list[exp.Expression] = []
    if from_ is not None:
        items.append(from_.this)
    items.extend(j.this for j in select.args.get("joins") or [])
    for item in items:
        if isinstance(item, exp.Table):
            ours = _table_matches(item, table, database) or (item.db == "" and item.name in stars)
            found.append(_Source(item.name, item.alias_or_name, ours))
        else:
            found.append(
                _Source("", item.alias_or_name if hasattr(item, "alias_or_name") else "", False)
            )
    return found


@dataclass
class ColumnUse:
    """How one view uses one column of one source table."""

    passthrough: list[exp.Column] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    refs: list[exp.Column] = field(default_factory=list)
    star: bool = False

    @property
    def reads(self) -> bool:
        """True when the view mentions the column, or its top-level ``*`` takes it."""
        return bool(self.refs) or self.star


class ViewQuery:
    """One view's SELECT, analysed against one source table of one database."""

    def __init__(self, sql: str, table: str, database: str) -> None:
        self.tree = parse(sql)
        self.table = table
        self.database = database
        self.stars: set[str] = set()
        with_ = self.tree.args.get("with_") or self.tree.args.get("with")
        for cte in with_.expressions if with_ is not None else []:
            body = cte.this
            if _is_star_select(body) and any(
                s.ours for s in _sources(body, table, database, self.stars)
            ):
                self.stars.add(cte.alias)

    @property
    def top(self) -> exp.Select | None:
        """The outermost SELECT (None for UNIONs and other shapes)."""
        return self.tree if isinstance(self.tree, exp.Select) else None

    def reads_table(self) -> bool:
        """True when any FROM/JOIN reads the table."""
        return any(
            _table_matches(t, self.table, self.database) for t in self.tree.find_all(exp.Table)
        )

    def star_passthrough(self) -> bool:
        """True when the top-level SELECT is ``*`` over the table (or a star CTE of it)."""
        top = self.top
        return (
            top is not None
            and _is_star_select(top)
            and any(s.ours for s in _sources(top, self.table, self.database, self.stars))
        )

    def outputs(self) -> dict[str, str]:
        """Top-level pass-through items: output name → source column name."""
        found: dict[str, str] = {}
        top = self.top
        if top is None:
            return found
        for item in top.expressions:
            col = item.this if isinstance(item, exp.Alias) else item
            if isinstance(col, exp.Column) and self._belongs(col):
                found[item.alias_or_name] = col.name
        return found

    def _belongs(self, col: exp.Column) -> bool:
        if isinstance(col.parent, exp.Star):
            return False
        scope = col.find_ancestor(exp.Select)
        if scope is None:
            return False
        sources = _sources(scope, self.table, self.database, self.stars)
        qualifier = col.table
        if qualifier:
            return any(s.ours and qualifier in (s.alias, s.name) for s in sources)
        return any(s.ours for s in sources)

    def use(self, column: str) -> ColumnUse:
        """Where the view uses ``column`` of the table."""
        use = ColumnUse()
        top = self.top
        for col in self.tree.find_all(exp.Column):
            if col.name != column or not self._belongs(col):
                continue
            use.refs.append(col)
            item = col.parent if isinstance(col.parent, exp.Alias) else col
            if top is not None and item.parent is top and item in top.expressions:
                use.passthrough.append(col)
                use.outputs.append(item.alias_or_name)
            else:
                use.other.append(_spot(col))
        if top is not None and self.star_passthrough():
            excluded = {
                c.name
                for star in top.expressions
                if isinstance(star, exp.Star)
                for c in star.args.get("except_") or []
            }
            use.star = column not in excluded
        return use

    def without(self, column: str) -> str:
        """The SELECT without ``column``'s pass-through items (``* EXCEPT`` for star views)."""
        use = self.use(column)
        for col in use.passthrough:
            item = col.parent if isinstance(col.parent, exp.Alias) else col
            item.pop()
        top = self.top
        if top is not None and self.star_passthrough():
            for star in top.expressions:
                if isinstance(star, exp.Star):
                    excluded = list(star.args.get("except_") or [])
                    if column not in {c.name for c in excluded}:
                        excluded.append(exp.column(column))
                    star.set("except_", excluded)
        return render(self.tree)

    def renamed(self, column: str, new_name: str, *, both_exist: bool = False) -> str:
        """The SELECT reading ``new_name`` where it read ``column``, output names unchanged.

        A star view gets ``* EXCEPT (new_name), new_name AS column``; with ``both_exist`` (the
        source has both names while a rename is under way) ``column`` is excluded too."""
        for col in self.use(column).refs:
            item_parent = col.parent
            col.set("this", exp.to_identifier(new_name))
            if isinstance(item_parent, exp.Select) and col in item_parent.expressions:
                col.replace(exp.alias_(col.copy(), column))
        top = self.top
        if top is not None and self.star_passthrough():
            for star in [e for e in top.expressions if isinstance(e, exp.Star)]:
                excluded = list(star.args.get("except_") or [])
                names = {c.name for c in excluded}
                for name in (column, new_name) if both_exist else (new_name,):
                    if name not in names:
                        excluded.append(exp.column(name))
                star.set("except_", excluded)
                top.select(exp.alias_(exp.column(new_name), column), copy=False)
        return render(self.tree)

    def remapped(self, mapping: dict[str, str]) -> str:
        """The SELECT reading ``mapping[c]`` wherever it read column ``c`` (all at once, so
        ``{a: b, b: a}`` swaps), output names unchanged: a bare projection item becomes
        ``new AS c``, a star view gets ``* EXCEPT (old and new names), new AS c``.

        Every changed reference is qualified with its table: ClickHouse resolves a bare name to
        a SELECT alias before a column, so ``SELECT b AS a, a AS b`` returns a and b unswapped
        (measured on chdb 26.x); ``t.b AS a, t.a AS b`` swaps."""
        changed = {old: new for old, new in mapping.items() if old != new}
        found = [
            col
            for col in self.tree.find_all(exp.Column)
            if col.name in changed and self._belongs(col)
        ]
        top = self.top
        star = top is not None and self.star_passthrough()
        for col in found:
            old, parent = col.name, col.parent
            col.set("this", exp.to_identifier(changed[old]))
            if not col.table:
                col.set("table", exp.to_identifier(self._qualifier(col)))
            if isinstance(parent, exp.Select) and col in parent.expressions:
                col.replace(exp.alias_(col.copy(), old))
        if top is not None and star:
            for item in [e for e in top.expressions if isinstance(e, exp.Star)]:
                excluded = list(item.args.get("except_") or [])
                names = [c.name for c in excluded]
                shown = [old for old in changed if old not in names]
                for name in [*changed, *changed.values()]:
                    if name not in names:
                        names.append(name)
                        excluded.append(exp.column(name))
                item.set("except_", excluded)
                for old in shown:
                    new = exp.column(changed[old], table=self._qualifier(item))
                    top.select(exp.alias_(new, old), copy=False)
        return render(self.tree)

    def _qualifier(self, node: exp.Expression) -> str:
        """The name (or alias) of the table's source in the SELECT around ``node``."""
        scope = node.find_ancestor(exp.Select)
        assert scope is not None
        ours = [s for s in _sources(scope, self.table, self.database, self.stars) if s.ours]
        return ours[0].alias or ours[0].name

    def refs(self, names: set[str]) -> list[str]:
        """The names of the table's columns in ``names`` the query mentions, in text order
        (``*`` and its EXCEPT list left out): what a rewrite of those columns changes."""
        return [
            col.name
            for col in self.tree.find_all(exp.Column, bfs=False)
            if col.name in names and self._belongs(col)
        ]

    def has_star(self) -> bool:
        """True when the top-level SELECT list has a ``*``."""
        top = self.top
        return top is not None and _is_star_select(top)

    def expandable(self) -> bool:
        """True for a star pass-through over a single table (no joins): ``*`` can be spelled out."""
        top = self.top
        return self.star_passthrough() and top is not None and not top.args.get("joins")

    def expanded(self, columns: list[str]) -> str:
        """The SELECT with its ``*`` spelled out as ``columns`` (minus its EXCEPT list)."""
        top = self.top
        assert top is not None
        items: list[exp.Expression] = []
        for item in top.expressions:
            if isinstance(item, exp.Star):
                excluded = {c.name for c in item.args.get("except_") or []}
                items.extend(exp.column(c) for c in columns if c not in excluded)
            else:
                items.append(item)
        top.set("expressions", items)
        return render(self.tree)

    def with_column(self, column: str) -> str:
        """The SELECT with ``column`` appended as a pass-through item (explicit-list views)."""
        top = self.top
        assert top is not None
        qualifier = ""
        for item in top.expressions:
            col = item.this if isinstance(item, exp.Alias) else item
            if isinstance(col, exp.Column) and self._belongs(col):
                qualifier = col.table
                break
        new: exp.Expression = exp.column(column, table=qualifier or None)
        top.select(exp.alias_(new, column) if qualifier else new, copy=False)
        return render(self.tree)


def _spot(col: exp.Column) -> str:
    node: Any = col
    while node is not None and node.parent is not None:
        key = node.arg_key
        parent = node.parent
        if isinstance(parent, exp.CTE):
            return f"CTE {parent.alias}"
        if isinstance(parent, exp.Join) and key == "on":
            return "JOIN ON"
        if isinstance(parent, exp.Select) and key in ("where", "group", "having", "order", "joins"):
            return {
                "where": "WHERE",
                "group": "GROUP BY",
                "having": "HAVING",
                "order": "ORDER BY",
                "joins": "JOIN",
            }[key]
        if isinstance(parent, exp.Select) and key == "expressions" and node is not col:
            if node.find_ancestor(exp.Select) is None or parent.parent is None:
                return "an expression in the SELECT list"
            return "a subquery"
        node = parent
    return "the query"
