"""The consumer column filter: what an ingesting consumer does with columns a table lacks.

Given a target table and a batch of rows with their column names, columns the table does not
have are dropped. The table's columns are cached; a column not in the cache triggers one
refresh (it may have been added since), so a migration that adds a column is picked up by the
next batch without a restart. A column still missing after a refresh is remembered for
``missing_ttl`` seconds, so a producer that keeps sending it does not cost a query per batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FilteredBatch:
    """Rows reduced to the columns the table has, and the columns that were dropped."""

    columns: list[str]
    rows: list[list[Any]]
    dropped: list[str] = field(default_factory=list)


class ColumnFilter:
    """Per-table column cache over a clickhouse-connect client."""

    def __init__(self, client: Any, database: str, missing_ttl: float = 30.0) -> None:
        self.client = client
        self.database = database
        self.missing_ttl = missing_ttl
        self._cache: dict[str, frozenset[str]] = {}
        self._missing: dict[tuple[str, str], float] = {}
        self.refreshes = 0
        """Catalog queries issued so far."""

    def columns(self, table: str, *, refresh: bool = False) -> frozenset[str]:
        """The table's column names (cached; ``refresh`` re-reads them)."""
        if refresh or table not in self._cache:
            rows = self.client.query(
                "SELECT name FROM system.columns WHERE database = {db:String} "
                "AND table = {table:String}",
                parameters={"db": self.database, "table": table},
            ).result_rows
            self.refreshes += 1
            self._cache[table] = frozenset(r[0] for r in rows)
        return self._cache[table]

    def filter(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> FilteredBatch:
        """Drop the columns ``table`` lacks from the batch (refreshing once on an unknown one)."""
        known = self.columns(table)
        now = time.monotonic()
        unknown = [
            c
            for c in columns
            if c not in known and self._missing.get((table, c), -1.0) + self.missing_ttl < now
        ]
        if unknown:
            known = self.columns(table, refresh=True)
            for c in unknown:
                if c not in known:
                    self._missing[(table, c)] = now
        keep = [i for i, c in enumerate(columns) if c in known]
        dropped = [c for c in columns if c not in known]
        return FilteredBatch(
            columns=[columns[i] for i in keep],
            rows=[[row[i] for i in keep] for row in rows],
            dropped=dropped,
        )

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> FilteredBatch:
        """Filter the batch and insert what remains; returns the filtered batch."""
        batch = self.filter(table, columns, rows)
        if batch.rows and batch.columns:
            self.client.insert(
                table, batch.rows, column_names=batch.columns, database=self.database
            )
        return batch
