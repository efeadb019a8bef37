"""Reading Iceberg metadata as raw JSON gives what pyiceberg's own parsing gives.

Every test runs on the SQLite catalog and on the SQL catalog stored in Postgres (see
``test_iceberg_support``): real tables created by pyiceberg, with every type the dialect maps to
and nested ones, compared with ``catalog.load_table(...).metadata`` read by pyiceberg.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    GeometryType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)
from sqlalchemy import text

from gen_migrate.check.counting import count_queries
from gen_migrate.dialects.iceberg.introspect import (
    LiveTable,
    column_types,
    pyiceberg_tables,
    read_local_tables,
    read_tables,
    type_spelling,
)
from gen_migrate.dialects.iceberg.target import IcebergTarget
from gen_migrate.errors import StepFailedError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, migration

pytest_plugins = ["test_iceberg_support"]

NS = "default"

POINT = StructType(
    NestedField(20, "x", DoubleType(), required=True, doc="east"),
    NestedField(21, "y", DoubleType(), required=False),
)
COLUMNS: list[tuple[str, IcebergType, bool]] = [
    ("id", LongType(), True),
    ("flag", BooleanType(), False),
    ("small", IntegerType(), False),
    ("ratio", FloatType(), False),
    ("score", DoubleType(), False),
    ("price", DecimalType(12, 2), False),
    ("wide", DecimalType(38, 10), False),
    ("day", DateType(), False),
    ("clock", TimeType(), False),
    ("local_ts", TimestampType(), False),
    ("created_at", TimestamptzType(), True),
    ("title", StringType(), False),
    ("key", UUIDType(), False),
    ("blob", BinaryType(), False),
    ("digest", FixedType(16), False),
    ("tags", ListType(30, StringType(), element_required=False), False),
    ("grid", ListType(31, ListType(32, DecimalType(9, 3)), element_required=True), False),
    ("attrs", MapType(33, StringType(), 34, LongType(), value_required=False), False),
    ("point", POINT, False),
    ("path", ListType(35, POINT, element_required=False), False),
]

CREATE_ISSUES = migration(
    "001",
    [
        {
            "op": "create_table",
            "table": {"name": "issues"},
            "columns": [
                {"name": "id", "type": {"kind": "int64"}, "nullable": False},
                {"name": "amount", "type": {"kind": "decimal", "precision": 14, "scale": 4}},
                {"name": "at", "type": {"kind": "timestamptz"}},
                {"name": "labels", "type": {"kind": "array", "element": {"kind": "string"}}},
                {"name": "doc", "type": {"kind": "json"}},
            ],
            "primary_key": ["id"],
        }
    ],
)


def _every_type_schema() -> IcebergSchema:
    return IcebergSchema(
        *(
            NestedField(i + 1, name, kind, required=required)
            for i, (name, kind, required) in enumerate(COLUMNS)
        ),
        identifier_field_ids=[1],
    )


def _by_pyiceberg(catalog: Any, names: list[str]) -> dict[str, LiveTable]:
    """What pyiceberg itself reads, table by table through the catalog API."""
    out: dict[str, LiveTable] = {}
    for name in names:
        meta = catalog.load_table((NS, name)).metadata
        out[name] = LiveTable(name, str(meta.table_uuid), dict(meta.properties), column_types(meta))
    return out


@pytest.fixture
def stocked(make_target: Any) -> IcebergTarget:
    """A target whose namespace holds tables of every type, one with an evolved schema, and
    the tables a deploy made (with their gen-migrate step properties)."""
    target: IcebergTarget = make_target()
    catalog = target.catalog
    catalog.create_table(
        (NS, "every_type"), schema=_every_type_schema(), properties={"owner": "ops", "n": "3"}
    )
    evolved = catalog.create_table((NS, "evolved"), schema=_every_type_schema())
    with evolved.update_schema() as update:
        update.add_column("note", StringType(), doc="added later")
        update.add_column("nested", ListType(1, MapType(1, StringType(), 2, DecimalType(5, 1))))
        update.delete_column("blob")
    assert evolved.metadata.current_schema_id == 1
    apply(target, [CREATE_ISSUES], Schema())
    return target


def test_raw_json_reads_what_pyiceberg_reads(stocked: IcebergTarget) -> None:
    catalog = stocked.catalog
    raw = read_tables(catalog, NS)
    assert sorted(raw) == ["every_type", "evolved", "issues"]
    assert raw == _by_pyiceberg(catalog, sorted(raw))
    assert raw == pyiceberg_tables(catalog, NS)
    assert raw["every_type"].columns["grid"] == "list<list<decimal(9, 3)>>"
    point = raw["every_type"].columns["point"]
    assert point.startswith("struct<") and ": x: required double (east), " in point
    assert raw["evolved"].columns["nested"] == "list<map<string, decimal(5, 1)>>"
    assert "blob" not in raw["evolved"].columns
    assert raw["issues"].columns["amount"] == "decimal(14, 4)"
    assert any(k.startswith("gen-migrate.step.001.") for k in raw["issues"].properties)


def test_rows_read_without_pyiceberg_give_the_same_tables(stocked: IcebergTarget) -> None:
    """The (name, location) rows the SQLite reader finds, read with plain file reads."""
    catalog = stocked.catalog
    names = sorted(ident[-1] for ident in catalog.list_tables(NS))
    rows = [(n, catalog.load_table((NS, n)).metadata_location) for n in names]
    assert read_local_tables(NS, rows) == read_tables(catalog, NS)
    assert read_local_tables(NS, rows, ["issues", "absent"]) == read_tables(catalog, NS, ["issues"])


def test_only_the_asked_tables(stocked: IcebergTarget) -> None:
    found = read_tables(stocked.catalog, NS, ["issues", "absent"])
    assert sorted(found) == ["issues"]


def test_gzip_metadata_file(stocked: IcebergTarget) -> None:
    """A ``.gz.metadata.json`` file (other writers compress metadata) reads the same."""
    catalog = stocked.catalog
    location = catalog.load_table((NS, "every_type")).metadata_location
    plain = Path(location.removeprefix("file://"))
    packed = plain.with_name(plain.name.replace(".metadata.json", ".gz.metadata.json"))
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with catalog.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE iceberg_tables SET metadata_location = :new"
                " WHERE table_name = 'every_type' AND metadata_location = :old"
            ),
            {"new": location.replace(plain.name, packed.name), "old": location},
        )
    found = read_tables(catalog, NS, ["every_type"])
    assert found == _by_pyiceberg(catalog, ["every_type"])


def test_missing_metadata_file_names_the_table(stocked: IcebergTarget) -> None:
    location = stocked.catalog.load_table((NS, "evolved")).metadata_location
    Path(location.removeprefix("file://")).unlink()
    with pytest.raises(StepFailedError, match=r"iceberg table default\.evolved: cannot read"):
        read_tables(stocked.catalog, NS)


def test_target_reads_once_until_execute(stocked: IcebergTarget) -> None:
    """``applied`` then ``live_columns`` share one read; a plan run invalidates it."""
    refs = [TableRef(name="issues"), TableRef(name="every_type")]
    with count_queries(stocked) as count:
        stocked.applied()
        first = count.value()
        assert first is not None and first > 0
        live = stocked.live_columns(refs)
        assert count.value() == first
    assert live[TableRef(name="issues")]["labels"] == "list<string>"
    add = {
        "op": "add_column",
        "table": {"name": "issues"},
        "column": {"name": "extra", "type": {"kind": "int32"}},
    }
    m = migration("002", [add])
    before = Schema()
    before.apply_all(CREATE_ISSUES.operations)
    stocked.execute(stocked.plan(m, m.checksum(), before))
    assert stocked.live_columns(refs)[TableRef(name="issues")]["extra"] == "int"
    assert "002" in stocked.applied()


@pytest.mark.parametrize(
    "kind",
    [kind for _, kind, _ in COLUMNS] + [GeometryType(), GeometryType("EPSG:4326")],
    ids=str,
)
def test_type_spelling_is_pyiceberg_str(kind: IcebergType) -> None:
    assert type_spelling(json.loads(kind.model_dump_json())) == str(kind)


def test_unknown_type_keeps_its_spelling() -> None:
    assert type_spelling("variant") == "variant"
    assert type_spelling("decimal(10,2)") == "decimal(10, 2)"
