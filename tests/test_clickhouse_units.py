"""Type maps, parity columns, the consumer column filter and quoting, on real chdb."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clickhouse_helpers import reset_database, target
from gen_migrate.consumer.columns import ColumnFilter
from gen_migrate.dialects.clickhouse.client import chdb_path
from gen_migrate.dialects.clickhouse.guards import guard_holds
from gen_migrate.dialects.clickhouse.quoting import ident, literal
from gen_migrate.dialects.clickhouse.swaps import mutation_marker
from gen_migrate.dialects.clickhouse.types import TypeMapper, presets
from gen_migrate.dialects.clickhouse.views import ViewQuery
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import Column, CreateTable, SwapColumns, TableRef
from gen_migrate.generic.schema import replay
from gen_migrate.generic.types import TypeKind, t

ALL_TYPES = [
    Column(name="id", type=t("int64"), nullable=False),
    Column(name="b", type=t("bool")),
    Column(name="i16", type=t("int16")),
    Column(name="i32", type=t("int32"), nullable=False),
    Column(name="f32", type=t("float32")),
    Column(name="f64", type=t("float64")),
    Column(name="dec", type=t("decimal", precision=12, scale=2)),
    Column(name="num", type=t("decimal")),
    Column(name="s", type=t("string", max_length=20)),
    Column(name="by", type=t("bytes")),
    Column(name="u", type=t("uuid")),
    Column(name="d", type=t("date")),
    Column(name="tm", type=t("time")),
    Column(name="ts", type=t("timestamp", precision=3)),
    Column(name="tz", type=t("timestamptz")),
    Column(name="iv", type=t("interval")),
    Column(name="j", type=t("json")),
    Column(name="e", type=t("enum", name="mood", values=("a", "b"))),
    Column(name="arr", type=t("array", element=t("int32"))),
]


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb')}")
    yield client
    client.close()


def test_every_preset_maps_every_kind() -> None:
    for preset in presets():
        mapper = TypeMapper(preset)
        for kind in TypeKind:
            if kind in (TypeKind.ARRAY, TypeKind.ENUM, TypeKind.DECIMAL):
                continue
            assert mapper.base(t(kind))
    siphon = TypeMapper("siphon")
    assert siphon.column(t("int32"), True).type == "Nullable(Int64)"
    assert siphon.column(t("timestamp", precision=3), False).type == "DateTime64(6, 'UTC')"
    assert siphon.column(t("array", element=t("int16")), True).default == "[]"
    exact = TypeMapper("default", {"json": "JSON", "decimal(12,2)": "Decimal64(2)"})
    assert exact.column(t("int32"), False).type == "Int32"
    assert exact.column(t("json"), True).type == "Nullable(JSON)"
    assert exact.column(t("decimal", precision=12, scale=2), False).type == "Decimal64(2)"


@pytest.mark.parametrize("preset", ["default", "siphon"])
def test_created_tables_match_expected_columns(ch: Any, tmp_path: Path, preset: str) -> None:
    """create_table under each preset yields exactly what expected_columns (parity) says."""
    db = f"gm_types_{preset}"
    reset_database(ch, db)
    ref = TableRef(name="everything")
    op = CreateTable(table=ref, columns=ALL_TYPES, primary_key=["id"])
    m = Migration(id="types", source=Source(framework="sql", version="1"), operations=[op])
    tg = target(ch, db, tmp_path, type_map=preset)
    tg.execute(tg.plan(m, m.checksum(), replay([])))
    live = tg.live_columns([ref, TableRef(name="missing")])
    assert live == tg.expected_columns(replay([[op]]), [ref])
    assert "_siphon_replicated_at" not in live[ref]


def test_consumer_filter_drops_unknown_columns_and_refreshes(ch: Any) -> None:
    db = "gm_consumer"
    reset_database(ch, db)
    ch.command(f"CREATE TABLE {db}.siphon_t (id Int64, a String) ENGINE = MergeTree ORDER BY id")
    f = ColumnFilter(ch, db)
    batch = f.insert("siphon_t", ["id", "a", "b"], [[1, "x", "gone"], [2, "y", "gone"]])
    assert batch.columns == ["id", "a"] and batch.dropped == ["b"]
    assert f.refreshes == 2  # first read, then one refresh for the unknown "b"
    f.insert("siphon_t", ["id", "a", "b"], [[3, "z", "gone"]])
    assert f.refreshes == 2  # "b" is known to be missing: no query per batch
    ch.command(f"ALTER TABLE {db}.siphon_t ADD COLUMN c Int32")
    batch = f.insert("siphon_t", ["id", "a", "c"], [[4, "w", 7]])
    assert batch.dropped == [] and f.refreshes == 3
    rows = ch.query(f"SELECT id, a, c FROM {db}.siphon_t ORDER BY id").result_rows
    assert rows == [(1, "x", 0), (2, "y", 0), (3, "z", 0), (4, "w", 7)]


def test_quoting_round_trips_through_clickhouse(ch: Any) -> None:
    for name in ["plain", "a b", "c`d", "e'f", 'g"h', "i;j", "k\\l", "`;DROP TABLE x;--"]:
        assert ch.query(f"SELECT 1 AS {ident(name)}").column_names == (name,)
        assert ch.query(f"SELECT {literal(name)}").result_rows == [(name,)]


def test_chdb_path_defaults_under_the_project(tmp_path: Path) -> None:
    assert chdb_path(None, tmp_path) == tmp_path / ".gen-migrate" / "clickhouse"
    assert chdb_path("chdb:///abs/dir", tmp_path) == Path("/abs/dir")
    assert chdb_path("chdb://rel", tmp_path) == tmp_path / "rel"
    assert chdb_path("http://localhost:8123", tmp_path) is None


SWAP_VIEWS = [
    # (view query over {db}.s, the columns it outputs)
    ("SELECT id, a, b FROM {db}.s", ["id", "a", "b"]),
    ("SELECT * FROM {db}.s", ["id", "a", "b", "c"]),
    ("SELECT * EXCEPT (c) FROM {db}.s", ["id", "a", "b"]),
    ("SELECT x.id AS id, x.a AS first, upper(x.b) AS second FROM {db}.s AS x", None),
    ("SELECT id, a FROM {db}.s WHERE b = 'B1'", ["id", "a"]),
    ("WITH w AS (SELECT id, a, b FROM {db}.s) SELECT id, a, b FROM w", ["id", "a", "b"]),
]


@pytest.mark.parametrize("index", range(len(SWAP_VIEWS)))
def test_remapped_view_reads_the_other_column_under_the_same_name(ch: Any, index: int) -> None:
    """``ViewQuery.remapped({a: b, b: a})`` run by ClickHouse on a table whose a and b hold
    swapped values gives what the original query gave before: same names, same values (a bare
    ``b AS a, a AS b`` would not: ClickHouse resolves a name to a SELECT alias first)."""
    db = "gm_remap"
    reset_database(ch, db)
    ch.command(f"CREATE TABLE {db}.s (id Int64, a String, b String, c Int32) ENGINE = Memory")
    ch.command(f"INSERT INTO {db}.s VALUES (1, 'A1', 'B1', 7), (2, 'A2', 'B2', 8)")
    sql, outputs = SWAP_VIEWS[index]
    original = ch.query(sql.format(db=db))
    vq = ViewQuery(sql.format(db=db), "s", db)
    before = vq.refs({"a", "b"})
    swapped = vq.remapped({"a": "b", "b": "a"})
    if "*" not in sql:
        assert ViewQuery(swapped, "s", db).refs({"a", "b"}) == [
            {"a": "b", "b": "a"}[n] for n in before
        ]
    ch.command(f"ALTER TABLE {db}.s UPDATE a = b, b = a WHERE 1 SETTINGS mutations_sync = 2")
    again = ch.query(swapped)

    def by_name(result: Any) -> list[list[tuple[str, Any]]]:
        return sorted(
            sorted(zip(result.column_names, row, strict=True)) for row in result.result_rows
        )

    assert by_name(again) == by_name(original)
    if outputs is not None:
        assert sorted(again.column_names) == sorted(outputs)


def test_each_swap_mutation_is_found_by_its_own_marker(ch: Any, tmp_path: Path) -> None:
    """Two migrations swap the same columns back: each mutation's guard finds its own marker
    in the stored command (not the other's), so each runs exactly once."""
    db = "gm_marker"
    reset_database(ch, db)
    ch.command(
        f"CREATE TABLE {db}.siphon_t (id Int64, a String, b String) ENGINE = MergeTree ORDER BY id"
    )
    ch.command(f"INSERT INTO {db}.siphon_t VALUES (1, 'A', 'B')")
    op = SwapColumns(table=TableRef(name="t"), a="a", b="b")
    for mid in ("m1_swap", "m2_swap_back"):
        m = Migration(id=mid, source=Source(framework="sql", version="1"), operations=[op])
        tg = target(ch, db, tmp_path)
        plan = tg.plan(m, m.checksum(), replay([]))
        [step] = plan.steps
        assert not guard_holds(ch, db, step.payload)
        tg.execute(plan)
        assert guard_holds(ch, db, step.payload)
        assert mutation_marker(mid, 0) in step.statements[0]
    # two swaps: back to the start, each issued once
    assert ch.query(f"SELECT a, b FROM {db}.siphon_t").result_rows == [("A", "B")]
    assert ch.query(
        f"SELECT count() FROM system.mutations WHERE database = '{db}'"
    ).result_rows == [(2,)]
