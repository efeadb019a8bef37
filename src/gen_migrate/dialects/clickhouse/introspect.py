"""One snapshot of a ClickHouse database's catalog, read in a constant number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gen_migrate.dialects.clickhouse.quoting import literal

_REPLACING = re.compile(r"^(?:Shared|Replicated)?ReplacingMergeTree\((.*?)\)", re.S)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")


@dataclass
class LiveColumn:
    """A column as ``system.columns`` has it."""

    name: str
    type: str
    default_kind: str
    default_expression: str


@dataclass
class LiveTable:
    """A table, view or dictionary as ``system.tables`` has it, with its columns."""

    name: str
    engine: str
    engine_full: str
    sorting_key: str
    partition_key: str
    primary_key: str
    dependencies: list[str]
    target_table: str
    as_select: str
    create_query: str
    columns: dict[str, LiveColumn] = field(default_factory=dict)
    projections: dict[str, str] = field(default_factory=dict)
    skip_indices: dict[str, str] = field(default_factory=dict)

    @property
    def is_view(self) -> bool:
        """True for a materialized view."""
        return self.engine == "MaterializedView"

    def replacing_columns(self) -> list[str]:
        """The version and is_deleted columns of a ReplacingMergeTree engine."""
        match = _REPLACING.match(self.engine_full)
        if not match:
            return []
        args = _STRING.sub("", match.group(1))
        return [a.strip().strip("`") for a in args.split(",") if a.strip()]

    def key_columns(self) -> dict[str, str]:
        """Column → what protects it (sorting, primary or partition key, engine version)."""
        from gen_migrate.dialects.clickhouse.views import column_refs  # sqlglot: planning only

        found: dict[str, str] = {}
        for what, expr in (
            ("partition key", self.partition_key),
            ("primary key", self.primary_key),
            ("sorting key", self.sorting_key),
        ):
            for col in column_refs(expr):
                found[col] = f"{what} ({expr})"
        for col in self.replacing_columns():
            found[col] = f"ReplacingMergeTree version/is_deleted column ({self.engine_full})"
        return found


@dataclass
class Catalog:
    """Every table of one database by name."""

    database: str
    tables: dict[str, LiveTable]
    queries: int
    lazy_tables: bool = False
    """The database loads its tables lazily (``lazy_load_tables = 1``): ClickHouse then refuses
    mutations (``UPDATE``, ``DELETE``, ``MATERIALIZE``) on them, loaded or not (code 48, seen on
    26.9)."""

    def views(self) -> list[LiveTable]:
        """Materialized views, by name."""
        return sorted((t for t in self.tables.values() if t.is_view), key=lambda t: t.name)

    def dictionaries(self) -> list[LiveTable]:
        """Dictionaries, by name."""
        return sorted(
            (t for t in self.tables.values() if t.engine == "Dictionary"), key=lambda t: t.name
        )


LAZY_ENGINE = "TableProxy"
"""What ``system.tables`` shows for a table of a ``lazy_load_tables = 1`` database that no
query has touched yet: its keys are empty and its engine hides the real one."""

_TABLES = (
    "SELECT name, engine, engine_full, sorting_key, partition_key, primary_key, "
    "dependencies_table, target_table, as_select, create_table_query, "
    "(SELECT engine_full FROM system.databases WHERE name = {db}) "
    "FROM system.tables WHERE database = {db}"
)
_LAZY_SETTING = re.compile(r"\blazy_load_tables\s*=\s*(?:1|true)\b", re.I)
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def load_catalog(client: Any, database: str) -> Catalog:
    """Read tables, columns, projections and skip indices of ``database``, and whether it loads
    its tables lazily: three queries, two more when some tables are not loaded yet."""
    db = literal(database)
    tables: dict[str, LiveTable] = {}
    queries = 3
    rows = client.query(_TABLES.format(db=db)).result_rows
    lazy = [str(r[0]) for r in rows if r[1] == LAZY_ENGINE]
    if lazy:
        # Any read loads a table; merge() over all of them, reading nothing, loads them at once.
        names = "|".join(_REGEX_SPECIAL.sub(r"\\\1", n) for n in lazy)
        client.query(f"SELECT 1 FROM merge({db}, {literal(f'^({names})$')}) WHERE 0")
        rows = client.query(_TABLES.format(db=db)).result_rows
        queries += 2
    lazy_db = bool(rows) and bool(_LAZY_SETTING.search(str(rows[0][10] or "")))
    for r in rows:
        tables[r[0]] = LiveTable(
            name=r[0],
            engine=r[1],
            engine_full=r[2],
            sorting_key=r[3],
            partition_key=r[4],
            primary_key=r[5],
            dependencies=list(r[6]),
            target_table=r[7],
            as_select=r[8],
            create_query=r[9],
        )
    rows = client.query(
        "SELECT table, name, type, default_kind, default_expression FROM system.columns "
        f"WHERE database = {db} ORDER BY table, position"
    ).result_rows
    for table, name, ctype, kind, expr in rows:
        if table in tables:
            tables[table].columns[name] = LiveColumn(name, ctype, kind, expr)
    rows = client.query(
        f"SELECT 'p', table, name, query FROM system.projections WHERE database = {db} "
        "UNION ALL "
        f"SELECT 'i', table, name, expr FROM system.data_skipping_indices WHERE database = {db}"
    ).result_rows
    for kind, table, name, expr in rows:
        if table in tables:
            target = tables[table].projections if kind == "p" else tables[table].skip_indices
            target[name] = expr
    return Catalog(database, tables, queries=queries, lazy_tables=lazy_db)
