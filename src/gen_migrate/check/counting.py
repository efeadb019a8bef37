"""Counting the queries a store answers while ``check`` introspects it.

``check`` promises a constant number of catalog queries per store, whatever the number of
tables; the count is part of its report so CI and ``bench/check.py`` can see it. The counters
wrap the real connection a target holds (nothing is simulated), found by what it exposes:

- a clickhouse-connect client (``target.client``): every ``query``/``command``/``raw_query``;
- a SQLAlchemy engine (``target.catalog.engine``, pyiceberg's SQL catalog): every statement
  sent to the database;
- a psycopg connection (``target.conn``, or a connection opened with :func:`counting_cursor`):
  every ``execute``.

A store reached through something else (a REST Iceberg catalog) is reported as not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_CLIENT_METHODS = ("query", "command", "raw_query", "query_arrow", "query_df", "insert")


@dataclass
class QueryCount:
    """Queries counted on one store; ``counted`` is False when no counter could be attached."""

    queries: int = 0
    counted: bool = False

    def value(self) -> int | None:
        """The count, or ``None`` when the store could not be counted."""
        return self.queries if self.counted else None


def _wrap(method: Callable[..., Any], count: QueryCount) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        count.queries += 1
        return method(*args, **kwargs)

    return counted


@contextmanager
def _count_client(client: Any, count: QueryCount) -> Iterator[None]:
    patched = [m for m in _CLIENT_METHODS if callable(getattr(client, m, None))]
    for name in patched:
        setattr(client, name, _wrap(getattr(client, name), count))
    count.counted = True
    try:
        yield
    finally:
        for name in patched:
            delattr(client, name)


@contextmanager
def _count_engine(engine: Any, count: QueryCount) -> Iterator[None]:
    from sqlalchemy import event

    def before(*_: Any) -> None:
        count.queries += 1

    event.listen(engine, "before_cursor_execute", before)
    count.counted = True
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def counting_cursor(count: QueryCount) -> type[Any]:
    """A psycopg cursor class that counts every ``execute`` into ``count``."""
    import psycopg

    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            count.queries += 1
            return super().execute(*args, **kwargs)

    count.counted = True
    return CountingCursor


@contextmanager
def _count_psycopg(conn: Any, count: QueryCount) -> Iterator[None]:
    before = conn.cursor_factory
    conn.cursor_factory = counting_cursor(count)
    try:
        yield
    finally:
        conn.cursor_factory = before


def _handle(target: Any, attribute: str) -> Any:
    try:
        return getattr(target, attribute, None)
    except Exception:  # a property that fails (target not open) offers nothing to count
        return None


@contextmanager
def count_queries(target: Any) -> Iterator[QueryCount]:
    """Count the queries an opened target sends inside the block (see the module docstring)."""
    count = QueryCount()
    client = _handle(target, "client")
    if client is not None and callable(getattr(client, "query", None)):
        with _count_client(client, count):
            yield count
        return
    catalog = _handle(target, "catalog")
    engine = getattr(catalog, "engine", None) if catalog is not None else None
    if engine is not None and hasattr(engine, "dispatch"):
        with _count_engine(engine, count):
            yield count
        return
    conn = _handle(target, "conn")
    if conn is not None and hasattr(conn, "cursor_factory"):
        with _count_psycopg(conn, count):
            yield count
        return
    yield count
