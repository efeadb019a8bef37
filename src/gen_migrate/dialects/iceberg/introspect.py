"""Reading live Iceberg tables: column types and the gen-migrate properties, in few catalog calls.

On a SQL catalog every table's metadata location comes from one query on ``iceberg_tables``;
then each table's current metadata file is read from the warehouse as plain JSON (file reads,
not catalog calls) and only the parts ``check`` needs are taken from it: the current schema's
top-level columns, spelled as pyiceberg's ``str(type)`` spells them, the properties and the
table UUID. Building pyiceberg's ``TableMetadata`` for each file costs about 40 times more.
Other catalogs (REST, Glue, Hive): one ``list_tables`` plus one ``load_table`` per table.
:func:`read_local_tables` does the same from (name, location) rows read without pyiceberg
(see :mod:`gen_migrate.dialects.iceberg.sqlcatalog`).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gen_migrate.errors import StepFailedError

_SIMPLE = frozenset(
    {
        "boolean",
        "int",
        "long",
        "float",
        "double",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "timestamp_ns",
        "timestamptz_ns",
        "string",
        "uuid",
        "binary",
        "unknown",
    }
)
_DECIMAL = re.compile(r"^\s*decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$")
_FIXED = re.compile(r"^\s*fixed\s*\[\s*(\d+)\s*\]\s*$")
_DEFAULT_SCHEMA_ID = 0


@dataclass(frozen=True)
class LiveTable:
    """One Iceberg table as its current metadata describes it."""

    name: str
    uuid: str
    properties: dict[str, str]
    columns: dict[str, str]
    """Top-level column name → Iceberg type spelling (``long``, ``decimal(12, 2)``)."""


def read_tables(
    catalog: Any, namespace: str, names: Iterable[str] | None = None
) -> dict[str, LiveTable]:
    """Table name → :class:`LiveTable` for the tables of the namespace (only ``names`` when
    given); missing tables are left out. Raw metadata JSON on a SQL catalog, else the
    pyiceberg API (:func:`pyiceberg_tables`)."""
    wanted = set(names) if names is not None else None
    rows = _sql_locations(catalog, namespace)
    if rows is None:
        return pyiceberg_tables(catalog, namespace, wanted)
    files = _FileReader(dict(getattr(catalog, "properties", {}) or {}))
    return _read_rows(namespace, rows, files, wanted)


def read_local_tables(
    namespace: str, rows: Iterable[tuple[str, str]], names: Iterable[str] | None = None
) -> dict[str, LiveTable] | None:
    """Like :func:`read_tables`, from the (table name, metadata location) rows of a catalog,
    reading the metadata files with plain file reads; ``None`` when a location is not a local
    file (only pyiceberg's FileIO, configured by the catalog, can read it)."""
    rows = list(rows)
    if not all(is_local(location) for _, location in rows):
        return None
    wanted = set(names) if names is not None else None
    return _read_rows(namespace, rows, _FileReader({}, local_only=True), wanted)


def is_local(location: str) -> bool:
    """Whether a metadata location is a local file (a path or a ``file:`` URL)."""
    return urlsplit(location).scheme in ("", "file")


def _read_rows(
    namespace: str,
    rows: Iterable[tuple[str, str]],
    files: _FileReader,
    wanted: set[str] | None,
) -> dict[str, LiveTable]:
    out: dict[str, LiveTable] = {}
    for name, location in rows:
        if wanted is not None and name not in wanted:
            continue
        try:
            out[name] = live_table(name, files.read_json(location))
        except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
            raise StepFailedError(
                f"iceberg table {namespace}.{name}: cannot read its metadata file "
                f"{location}: {type(exc).__name__}: {exc}"
            ) from None
    return out


def pyiceberg_tables(
    catalog: Any, namespace: str, names: Iterable[str] | None = None
) -> dict[str, LiveTable]:
    """Like :func:`read_tables`, through pyiceberg's own parsing (any catalog)."""
    return {
        name: LiveTable(
            name=name,
            uuid=str(meta.table_uuid),
            properties=dict(meta.properties),
            columns=column_types(meta),
        )
        for name, meta in table_metadata(catalog, namespace, names).items()
    }


def live_table(name: str, metadata: dict[str, Any]) -> LiveTable:
    """The :class:`LiveTable` of one parsed metadata JSON document (format v1, v2 or v3)."""
    schemas = metadata.get("schemas") or [metadata["schema"]]
    current = metadata.get("current-schema-id", _DEFAULT_SCHEMA_ID)
    schema = next(s for s in schemas if s.get("schema-id", _DEFAULT_SCHEMA_ID) == current)
    return LiveTable(
        name=name,
        uuid=str(metadata["table-uuid"]),
        properties={
            str(k): str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (metadata.get("properties") or {}).items()
        },
        columns={str(f["name"]): type_spelling(f["type"]) for f in schema["fields"]},
    )


def type_spelling(raw: Any) -> str:
    """The spelling pyiceberg's ``str()`` gives the type whose metadata JSON is ``raw``:
    ``decimal(12, 2)``, ``list<string>``, ``map<string, long>``,
    ``struct<1: a: optional int>``."""
    if isinstance(raw, str):
        if raw in _SIMPLE:
            return raw
        if m := _DECIMAL.match(raw):
            return f"decimal({int(m.group(1))}, {int(m.group(2))})"
        if m := _FIXED.match(raw):
            return f"fixed[{int(m.group(1))}]"
        return _pyiceberg_spelling(raw)
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind == "list":
            return f"list<{type_spelling(raw['element'])}>"
        if kind == "map":
            return f"map<{type_spelling(raw['key'])}, {type_spelling(raw['value'])}>"
        if kind == "struct":
            return f"struct<{', '.join(_field_spelling(f) for f in raw['fields'])}>"
    return _pyiceberg_spelling(raw)


def _field_spelling(field: dict[str, Any]) -> str:
    required = "required" if field.get("required", False) else "optional"
    doc = field.get("doc")
    tail = f" ({doc})" if doc else ""
    return f"{field['id']}: {field['name']}: {required} {type_spelling(field['type'])}{tail}"


def _pyiceberg_spelling(raw: Any) -> str:
    """A rarer type (geometry, geography, …): pyiceberg parses it; one it does not know keeps
    its own spelling, so parity reports it instead of failing."""
    from pyiceberg.types import NestedField

    try:
        return str(NestedField(field_id=0, name="_", field_type=raw, required=False).field_type)
    except ValueError:
        return raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True)


class _FileReader:
    """Reads metadata files: local ones with plain file reads, others through pyiceberg's
    FileIO (one per URL scheme), unless ``local_only``."""

    def __init__(self, properties: dict[str, str], local_only: bool = False) -> None:
        self.properties = properties
        self.local_only = local_only
        self._io: dict[str, Any] = {}

    def read_json(self, location: str) -> dict[str, Any]:
        data = self._read(location)
        if location.endswith(".gz.metadata.json"):
            data = gzip.decompress(data)
        found = json.loads(data)
        if not isinstance(found, dict):
            raise ValueError("not a JSON object")
        return found

    def _read(self, location: str) -> bytes:
        parts = urlsplit(location)
        if parts.scheme in ("", "file"):
            # pyiceberg's local FileIO uses netloc + path as it is (no percent-decoding).
            path = Path(location if not parts.scheme else parts.netloc + parts.path)
            try:
                return path.read_bytes()
            except FileNotFoundError:
                if self.local_only:
                    raise
        io = self._io.get(parts.scheme)
        if io is None:
            from pyiceberg.io import load_file_io

            io = self._io[parts.scheme] = load_file_io(self.properties, location)
        with io.new_input(location).open() as stream:
            return bytes(stream.read())


def _sql_locations(catalog: Any, namespace: str) -> list[tuple[str, str]] | None:
    """(table name, metadata location) of every table in the namespace through one SQL query,
    or ``None`` when the catalog is not pyiceberg's SQL catalog."""
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    if not isinstance(catalog, SqlCatalog):
        return None
    stmt = select(IcebergTables.table_name, IcebergTables.metadata_location).where(
        IcebergTables.catalog_name == catalog.name,
        IcebergTables.table_namespace == namespace,
    )
    with Session(catalog.engine) as session:
        return [(str(n), str(loc)) for n, loc in session.execute(stmt) if loc]


def table_metadata(catalog: Any, namespace: str, names: Iterable[str] | None) -> dict[str, Any]:
    """Table name → pyiceberg ``TableMetadata`` (``schema()``, ``properties``) for the tables
    of the namespace (only ``names`` when given); missing tables are left out."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.io import load_file_io
    from pyiceberg.serializers import FromInputFile

    wanted = set(names) if names is not None else None
    rows = _sql_locations(catalog, namespace)
    out: dict[str, Any] = {}
    if rows is not None:
        for name, location in rows:
            if wanted is not None and name not in wanted:
                continue
            io = load_file_io(properties=catalog.properties, location=location)
            out[name] = FromInputFile.table_metadata(io.new_input(location))
        return out
    for ident in catalog.list_tables(namespace):
        name = ident[-1]
        if wanted is not None and name not in wanted:
            continue
        try:
            out[name] = catalog.load_table((namespace, name)).metadata
        except NoSuchTableError:
            continue
    return out


def column_types(metadata: Any) -> dict[str, str]:
    """Top-level column name → Iceberg type spelling (``long``, ``decimal(12, 2)``)."""
    return {f.name: str(f.field_type) for f in metadata.schema().fields}
