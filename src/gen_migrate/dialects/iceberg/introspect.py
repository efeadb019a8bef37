"""Reading live Iceberg tables: column types and the gen-migrate properties, in few catalog calls.

On a SQL catalog every table's metadata location comes from one query on ``iceberg_tables``;
then each table's metadata file is read from the warehouse (file reads, not catalog calls).
Other catalogs: one ``list_tables`` plus one ``load_table`` per managed table present.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _sql_metadata(catalog: Any, namespace: str, names: set[str] | None) -> dict[str, Any] | None:
    """Table name → pyiceberg ``TableMetadata`` through one SQL query, or ``None`` when the
    catalog is not pyiceberg's SQL catalog."""
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from pyiceberg.io import load_file_io
    from pyiceberg.serializers import FromInputFile
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    if not isinstance(catalog, SqlCatalog):
        return None
    stmt = select(IcebergTables.table_name, IcebergTables.metadata_location).where(
        IcebergTables.catalog_name == catalog.name,
        IcebergTables.table_namespace == namespace,
    )
    with Session(catalog.engine) as session:
        rows = [(str(n), str(loc)) for n, loc in session.execute(stmt) if loc]
    out: dict[str, Any] = {}
    for name, location in rows:
        if names is not None and name not in names:
            continue
        io = load_file_io(properties=catalog.properties, location=location)
        out[name] = FromInputFile.table_metadata(io.new_input(location))
    return out


def table_metadata(catalog: Any, namespace: str, names: Iterable[str] | None) -> dict[str, Any]:
    """Table name → ``TableMetadata`` (``schema()``, ``properties``) for the tables of the
    namespace (only ``names`` when given); missing tables are left out."""
    from pyiceberg.exceptions import NoSuchTableError

    wanted = set(names) if names is not None else None
    found = _sql_metadata(catalog, namespace, wanted)
    if found is not None:
        return found
    out: dict[str, Any] = {}
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
