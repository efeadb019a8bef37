"""Reading pyiceberg's SQL catalog on SQLite with the standard library, for ``check``.

Importing pyiceberg's SQL catalog (pyiceberg, SQLAlchemy, parts of pyarrow) takes about a second;
reading what ``check`` needs takes two queries. When the target's catalog is pyiceberg's SQL
catalog on a SQLite file (the embedded default, or ``type = "sql"`` with a plain
``sqlite:///<path>`` URI) and no pyiceberg configuration file or environment variable could
change it, the file is opened read-only with :mod:`sqlite3` and the two tables pyiceberg keeps
are read directly:

- ``iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)``;
- ``iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, …)``,

the namespace being stored as its dot-joined segments. Nothing is created: a missing file, or a
file without those tables, holds no namespace and no table.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from gen_migrate.dialects.iceberg.catalog import catalog_properties
from gen_migrate.dialects.iceberg.config import IcebergTargetConfig

_SQLITE_SCHEMES = ("sqlite:", "sqlite+pysqlite:")
_PYICEBERG_YAML = ".pyiceberg.yaml"
_ENV_CATALOG_PREFIX = "PYICEBERG_CATALOG__"
_BUSY_TIMEOUT = 5.0

NAMESPACE_PROPERTIES = (
    "SELECT property_key, property_value FROM iceberg_namespace_properties"
    " WHERE catalog_name = ? AND namespace = ?"
)
TABLE_LOCATIONS = (
    "SELECT table_name, metadata_location FROM iceberg_tables"
    " WHERE catalog_name = ? AND table_namespace = ?"
)


class SqliteCatalogReader:
    """Read-only access to one namespace of a pyiceberg SQL catalog stored in SQLite.

    :meth:`query` is the only way SQL reaches the file, so ``check`` can count the queries.
    """

    def __init__(self, path: Path, catalog_name: str, namespace: str) -> None:
        self.path = path
        self.catalog_name = catalog_name
        self.namespace = namespace
        self._conn: sqlite3.Connection | None = None

    def query(self, sql: str, params: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement; none when the file or the table is missing.

        Raises :class:`sqlite3.Error` for anything else (locked, corrupt, not a database).
        """
        conn = self._connect()
        if conn is None:
            return []
        try:
            return list(conn.execute(sql, tuple(params)))
        except sqlite3.OperationalError as exc:
            if str(exc).startswith("no such table"):
                return []
            raise

    def read(self) -> tuple[dict[str, str], list[tuple[str, str]]] | None:
        """The namespace properties and (table name, metadata location) of every table in the
        namespace, in two queries; ``None`` when SQLite cannot read the file."""
        key = (self.catalog_name, self.namespace)
        try:
            properties = {str(k): str(v) for k, v in self.query(NAMESPACE_PROPERTIES, key)}
            rows = [(str(n), str(loc)) for n, loc in self.query(TABLE_LOCATIONS, key) if loc]
        except sqlite3.Error:
            return None
        return properties, rows

    def close(self) -> None:
        """Close the SQLite connection (reopened on the next query)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None and self.path.is_file():
            self._conn = sqlite3.connect(
                f"{self.path.as_uri()}?mode=ro",
                uri=True,
                timeout=_BUSY_TIMEOUT,
                check_same_thread=False,
            )
        return self._conn


def sqlite_reader(config: IcebergTargetConfig, root: Path) -> SqliteCatalogReader | None:
    """A reader of the target's catalog, or ``None`` when only pyiceberg can read it (another
    catalog type or database, a SQLite URI with options, a namespace pyiceberg would reject,
    or pyiceberg configuration that applies to this catalog)."""
    props = catalog_properties(config, root)
    if props.get("type", "").lower() != "sql" or "py-catalog-impl" in props:
        return None
    path = sqlite_path(props.get("uri", ""))
    namespace = namespace_string(config.namespace)
    if path is None or namespace is None or _pyiceberg_configured(config.catalog_name):
        return None
    return SqliteCatalogReader(path, config.catalog_name, namespace)


def sqlite_path(uri: str) -> Path | None:
    """The file a SQLAlchemy SQLite URL opens (``sqlite:///relative`` or ``sqlite:////absolute``,
    percent-decoded, relative to the working directory as SQLAlchemy does), or ``None`` for an
    in-memory database, a URL with a host or options, or not SQLite."""
    scheme = next((s for s in _SQLITE_SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        return None
    rest = uri[len(scheme) :]
    if not rest.startswith("///") or "?" in rest or "#" in rest:
        return None
    database = unquote(rest[3:])
    if not database or database == ":memory:":
        return None
    return Path(os.path.abspath(database))


def namespace_string(namespace: str) -> str | None:
    """The namespace as pyiceberg's SQL catalog stores it (segments stripped, joined by dots),
    or ``None`` for one it rejects (an empty segment)."""
    segments = [s.strip() for s in namespace.split(".")]
    if not all(segments):
        return None
    return ".".join(segments)


def _pyiceberg_configured(catalog_name: str) -> bool:
    """Whether pyiceberg's own configuration could add properties to the catalog: any catalog
    environment variable, or a ``.pyiceberg.yaml`` (the first pyiceberg finds) naming it."""
    if any(k.upper().startswith(_ENV_CATALOG_PREFIX) for k in os.environ):
        return True
    for directory in (os.environ.get("PYICEBERG_HOME"), os.path.expanduser("~"), os.getcwd()):
        if not directory:
            continue
        found = Path(directory) / _PYICEBERG_YAML
        if found.is_file():
            try:
                text = found.read_text(encoding="utf-8", errors="replace").lower()
            except OSError:
                return True
            return catalog_name.lower() in text
    return False
