"""One snapshot of a ClickHouse database's catalog, read in a constant number of queries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gen_migrate.dialects.clickhouse.quoting import literal
from gen_migrate.dialects.clickhouse.views import column_refs

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

    def views(self) -> list[LiveTable]:
        """Materialized views, by name."""
        return sorted((t for t in self.tables.values() if t.is_view), key=lambda t: t.name)

    def dictionaries(self) -> list[LiveTable]:
        """Dictionaries, by name."""
        return sorted(
            (t for t in self.tables.values() if t.engine == "Dictionary"), key=lambda t: t.name
        )


def load_catalog(client: Any, database: str) -> Catalog:
    """Read tables, columns, projections and skip indices of ``database``: three queries."""
    db = literal(database)
    tables: dict[str, LiveTable] = {}
    rows = client.query(
        "SELECT name, engine, engine_full, sorting_key, partition_key, primary_key, "
        "dependencies_table, target_table, as_select, create_table_query "
        f"FROM system.tables WHERE database = {db}"
    ).result_rows
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
    return Catalog(database, tables, queries=3)
