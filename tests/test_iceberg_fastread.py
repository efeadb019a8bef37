"""``applied`` and ``live_columns`` on a SQLite catalog, read without pyiceberg.

The catalogs are real: tables created by pyiceberg and by deploys, read once through the
SQLite reader (in a fresh process, to see what it imports) and once through pyiceberg.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from gen_migrate.check.counting import count_queries
from gen_migrate.dialects.base import AppliedMigration
from gen_migrate.dialects.iceberg.catalog import close_catalog, open_catalog
from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.dialects.iceberg.introspect import pyiceberg_tables, read_local_tables
from gen_migrate.dialects.iceberg.sqlcatalog import sqlite_path, sqlite_reader
from gen_migrate.dialects.iceberg.state import collect
from gen_migrate.dialects.iceberg.target import IcebergTarget
from gen_migrate.errors import StepFailedError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, catalog_config, migration

NS = "default"
HEAVY = ("pyiceberg", "sqlalchemy", "pyarrow")
ISSUES = {"name": "issues"}


def _col(name: str, kind: str, nullable: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": {"kind": kind, **kw}, "nullable": nullable}


def _create(name: str, *cols: dict[str, Any]) -> dict[str, Any]:
    return {
        "op": "create_table",
        "table": {"name": name},
        "columns": [_col("id", "int64", False), *cols],
        "primary_key": ["id"],
    }


HISTORY = [
    migration(
        "001",
        [
            _create(
                "issues",
                _col("amount", "decimal", precision=14, scale=4),
                _col("labels", "array", element={"kind": "string"}),
            )
        ],
    ),
    migration("002", [_create("scratch", _col("note", "string"))]),
    migration("003", [{"op": "add_column", "table": ISSUES, "column": _col("at", "timestamptz")}]),
    migration(
        "004",
        [{"op": "set_default", "table": ISSUES, "column": "amount", "default": "0"}],
    ),
    migration("005", [{"op": "drop_table", "table": {"name": "scratch"}}]),
]

READ = """
import json, sys
from pathlib import Path
from gen_migrate.check.counting import count_queries
from gen_migrate.config import load_config
from gen_migrate.dialects.registry import make_target
from gen_migrate.generic.operations import TableRef

root = Path(sys.argv[1])
config = load_config(cwd=root)
target = make_target("lake", config.targets["lake"], root)
refs = [TableRef(name=n) for n in json.loads(sys.argv[2])]
with target, count_queries(target) as count:
    applied = target.applied()
    live = target.live_columns(refs)
print(json.dumps({
    "applied": {k: [a.checksum, sorted(a.steps_done), a.complete] for k, a in applied.items()},
    "live": {ref.name: columns for ref, columns in live.items()},
    "queries": count.value(),
    "heavy": [m for m in sys.argv[3].split(",") if m in sys.modules],
}))
"""


def _plain(applied: dict[str, AppliedMigration]) -> dict[str, list[Any]]:
    return {k: [a.checksum, sorted(a.steps_done), a.complete] for k, a in applied.items()}


def _lake_schema() -> IcebergSchema:
    point = StructType(
        NestedField(10, "x", DoubleType(), required=True, doc="east"),
        NestedField(11, "y", DoubleType(), required=False),
    )
    return IcebergSchema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "price", DecimalType(12, 2), required=False),
        NestedField(3, "at", TimestamptzType(), required=False),
        NestedField(4, "attrs", MapType(12, StringType(), 13, LongType()), required=False),
        NestedField(5, "path", ListType(14, point, element_required=False), required=False),
        identifier_field_ids=[1],
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project on the embedded catalog: tables created by pyiceberg (one of them evolved)
    and by five deploys, one of them a drop (its steps move to the namespace) and one with no
    Iceberg step (recorded on the namespace)."""
    (tmp_path / "gen-migrate.toml").write_text('[targets.lake]\ntype = "iceberg"\n')
    with IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), tmp_path) as target:
        catalog = target.catalog
        catalog.create_table((NS, "plain"), schema=_lake_schema(), properties={"owner": "ops"})
        evolved = catalog.create_table((NS, "evolved"), schema=_lake_schema())
        with evolved.update_schema() as update:
            update.add_column("note", StringType(), doc="added later")
            update.delete_column("price")
        apply(target, HISTORY, Schema())
    return tmp_path


def _by_pyiceberg(root: Path, namespace: str = NS) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Applied state and columns as pyiceberg's own API reads them."""
    catalog = open_catalog(IcebergTargetConfig(type="iceberg", namespace=namespace), root)
    try:
        tables = pyiceberg_tables(catalog, namespace)
        props = dict(catalog.load_namespace_properties(namespace))
    finally:
        close_catalog(catalog)
    applied = collect([props, *(t.properties for t in tables.values())])
    return _plain(applied), {n: t.columns for n, t in tables.items()}


def test_fresh_process_reads_without_pyiceberg(project: Path) -> None:
    asked = ["issues", "plain", "evolved", "scratch", "gone"]
    out = subprocess.run(
        [sys.executable, "-c", READ, str(project), json.dumps(asked), ",".join(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(out.stdout)
    assert found["heavy"] == []
    assert found["queries"] == 2
    applied, columns = _by_pyiceberg(project)
    assert found["applied"] == applied
    assert found["live"] == {n: c for n, c in columns.items() if n in asked}
    assert sorted(found["live"]) == ["evolved", "issues", "plain"]
    assert sorted(applied) == ["001", "002", "003", "004", "005"]
    assert all(complete for _, _, complete in applied.values())
    assert applied["004"][1] == []
    assert found["live"]["issues"]["amount"] == "decimal(14, 4)"
    assert found["live"]["evolved"]["note"] == "string" and "price" not in found["live"]["evolved"]
    path = found["live"]["plain"]["path"]
    assert path.startswith("list<struct<") and ": x: required double (east), " in path


def test_same_target_object_after_more_deploys(project: Path) -> None:
    """One target deploys (pyiceberg) and reads (SQLite) in turn; reads follow every change."""
    refs = [TableRef(name="issues"), TableRef(name="later")]
    with IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), project) as target:
        assert target.client is not None
        before = Schema()
        for m in HISTORY:
            before.apply_all(m.operations)
        later = migration("006", [_create("later", _col("v", "string"))])
        apply(target, [later], before)
        applied, columns = _by_pyiceberg(project)
        assert _plain(target.applied()) == applied
        assert "006" in applied
        assert target.live_columns(refs) == {
            TableRef(name=n): columns[n] for n in ("issues", "later")
        }


def test_missing_catalog_file_reads_nothing_and_creates_nothing(tmp_path: Path) -> None:
    target = IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), tmp_path)
    with target, count_queries(target) as count:
        assert target.client is not None
        assert target.applied() == {}
        assert target.live_columns([TableRef(name="issues")]) == {}
    assert count.value() == 2
    assert list(tmp_path.iterdir()) == []


def test_missing_namespace_reads_nothing_and_creates_nothing(project: Path) -> None:
    db = project / ".gen-migrate" / "iceberg" / "catalog.db"
    config = IcebergTargetConfig(type="iceberg", namespace="analytics")
    with IcebergTarget("lake", config, project) as target:
        assert target.applied() == {}
        assert target.live_columns([TableRef(name="issues")]) == {}
    with sqlite3.connect(db) as conn:
        namespaces = {
            ns for (ns,) in conn.execute("SELECT namespace FROM iceberg_namespace_properties")
        }
    assert namespaces == {NS}


def test_catalog_file_without_catalog_tables(tmp_path: Path) -> None:
    db = tmp_path / ".gen-migrate" / "iceberg" / "catalog.db"
    db.parent.mkdir(parents=True)
    sqlite3.connect(db).close()
    with IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), tmp_path) as target:
        assert target.applied() == {}
        assert target.live_columns([TableRef(name="issues")]) == {}
    with sqlite3.connect(db) as conn:
        assert list(conn.execute("SELECT name FROM sqlite_master")) == []


def test_missing_metadata_file_names_the_table_and_file(project: Path) -> None:
    db = project / ".gen-migrate" / "iceberg" / "catalog.db"
    with sqlite3.connect(db) as conn:
        ((location,),) = conn.execute(
            "SELECT metadata_location FROM iceberg_tables WHERE table_name = 'evolved'"
        )
    Path(location.removeprefix("file://")).unlink()
    with IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), project) as target:
        assert target.client is not None
        expected = (
            r"iceberg table default\.evolved: cannot read its metadata file "
            f"{re.escape(location)}: FileNotFoundError"
        )
        with pytest.raises(StepFailedError, match=expected):
            target.applied()


def test_unreadable_catalog_file_goes_through_pyiceberg(tmp_path: Path) -> None:
    """A file SQLite cannot read is left to pyiceberg, which fails as it always did."""
    db = tmp_path / ".gen-migrate" / "iceberg" / "catalog.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database, " * 100)
    target = IcebergTarget("lake", IcebergTargetConfig(type="iceberg"), tmp_path)
    with target, pytest.raises(StepFailedError, match="cannot be opened"):
        target.applied()


def test_configured_sqlite_catalog_is_read_without_pyiceberg(tmp_path: Path) -> None:
    (tmp_path / "wh").mkdir()
    config = IcebergTargetConfig(
        type="iceberg",
        catalog={
            "uri": f"sqlite:///{tmp_path / 'lake.db'}",
            "warehouse": (tmp_path / "wh").as_uri(),
        },
        catalog_name="lake",
    )
    with IcebergTarget("lake", config, tmp_path) as target:
        apply(target, HISTORY[:3], Schema())
    with IcebergTarget("lake", config, tmp_path) as target:
        assert target.client is not None
        assert target.client.path == tmp_path / "lake.db"
        fast = _plain(target.applied()), target.live_columns([TableRef(name="issues")])
        catalog = target.catalog
        expected = collect(
            [
                dict(catalog.load_namespace_properties(NS)),
                *(t.properties for t in pyiceberg_tables(catalog, NS).values()),
            ]
        )
        columns = pyiceberg_tables(catalog, NS, ["issues"])["issues"].columns
    assert fast == (_plain(expected), {TableRef(name="issues"): columns})
    assert sorted(fast[0]) == ["001", "002", "003"]


def test_postgres_sql_catalog_goes_through_pyiceberg(tmp_path: Path, pg_dsn: str) -> None:
    config = catalog_config("postgres", tmp_path, pg_dsn)
    assert sqlite_reader(config, tmp_path) is None
    with IcebergTarget("lake", config, tmp_path) as target:
        apply(target, HISTORY, Schema())
    target = IcebergTarget("lake", config, tmp_path)
    with target, count_queries(target) as count:
        assert target.client is None
        applied = target.applied()
        live = target.live_columns([TableRef(name="issues")])
        catalog = target.catalog
        props = dict(catalog.load_namespace_properties(NS))
        tables = pyiceberg_tables(catalog, NS)
    assert (count.value() or 0) > 0
    assert _plain(applied) == _plain(collect([props, *(t.properties for t in tables.values())]))
    assert sorted(applied) == ["001", "002", "003", "004", "005"]
    assert live == {TableRef(name="issues"): tables["issues"].columns}


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////srv/lake/catalog.db", "/srv/lake/catalog.db"),
        ("sqlite+pysqlite:////srv/lake/catalog.db", "/srv/lake/catalog.db"),
        ("sqlite:////srv/my%20lake/catalog.db", "/srv/my lake/catalog.db"),
        ("sqlite:///rel/catalog.db", "{cwd}/rel/catalog.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:////srv/catalog.db?timeout=30", None),
        ("sqlite://host/catalog.db", None),
        ("postgresql+psycopg://postgres@127.0.0.1/lake", None),
    ],
)
def test_sqlite_path_is_the_file_sqlalchemy_opens(uri: str, path: str | None) -> None:
    expected = None if path is None else Path(path.format(cwd=Path.cwd()))
    assert sqlite_path(uri) == expected


def test_other_catalogs_and_pyiceberg_settings_keep_pyiceberg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reader(**catalog: str) -> object:
        return sqlite_reader(IcebergTargetConfig(type="iceberg", catalog=catalog), tmp_path)

    db = f"sqlite:///{tmp_path / 'c.db'}"
    assert reader(uri=db) is not None
    assert reader(type="SQL", uri=db) is not None
    assert reader(type="rest", uri="http://127.0.0.1:1") is None
    assert reader(**{"py-catalog-impl": "x.Y", "uri": db}) is None
    blank = IcebergTargetConfig(type="iceberg", namespace="a..b")
    assert sqlite_reader(blank, tmp_path) is None
    monkeypatch.setenv("PYICEBERG_HOME", str(tmp_path))
    (tmp_path / ".pyiceberg.yaml").write_text("catalog:\n  other:\n    uri: x\n")
    assert reader(uri=db) is not None
    (tmp_path / ".pyiceberg.yaml").write_text("catalog:\n  gen_migrate:\n    uri: x\n")
    assert reader(uri=db) is None
    (tmp_path / ".pyiceberg.yaml").unlink()
    monkeypatch.setenv("PYICEBERG_CATALOG__LAKE__URI", "sqlite:///elsewhere.db")
    assert reader(uri=db) is None


def test_remote_metadata_locations_are_left_to_pyiceberg() -> None:
    assert read_local_tables(NS, [("t", "s3://bucket/t/metadata/v1.metadata.json")]) is None
    assert read_local_tables(NS, []) == {}
