"""Applying plans on chdb: rows still reach every view's target, a concurrent writer loses and
double-counts nothing, interrupted runs converge, names never inject, ON CLUSTER SQL parses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from clickhouse_helpers import load_layout, migration, reset_database, snapshot, target
from gen_migrate.dialects.base import Step
from gen_migrate.dialects.clickhouse.guards import guard_holds, step_guards
from gen_migrate.dialects.clickhouse.state import StateStore
from gen_migrate.dialects.clickhouse.translate import INSERTS_RUNNING, TEMP_SUFFIX
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import (
    AddColumn,
    Column,
    CreateTable,
    DropColumn,
    RenameColumn,
    SwapColumns,
    TableRef,
)
from gen_migrate.generic.schema import Schema
from gen_migrate.generic.types import t


@pytest.fixture(scope="module")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="module")
def ch(chdb_path: Path) -> Iterator[Any]:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    yield client
    client.close()


def apply(client: Any, db: str, root: Path, mig: Migration, **settings: Any) -> Any:
    tg = target(client, db, root, **settings)
    plan = tg.plan(mig, mig.checksum(), Schema())
    assert not plan.refusals, plan.refusals
    tg.execute(plan)
    return plan


def uses_temp_view(plan: Any) -> bool:
    """Whether ``plan`` replaces a view through a temp view; it never exchanges tables (an
    insert looking up its views during ``EXCHANGE TABLES`` can miss both)."""
    statements = [sql for step in plan.steps for sql in step.statements]
    assert not any(sql.startswith("EXCHANGE") for sql in statements)
    return any(
        sql.startswith("CREATE MATERIALIZED VIEW") and f"{TEMP_SUFFIX}`" in sql
        for sql in statements
    )


def insert_item(client: Any, db: str, item_id: int, **values: Any) -> None:
    cols = ["id", *values]
    client.insert("siphon_items", [[item_id, *values.values()]], column_names=cols, database=db)


def test_rows_reach_every_target_after_drop_rename_add(ch: Any, tmp_path: Path) -> None:
    db = "gm_rows"
    load_layout(ch, db)
    for mid in ("005_drop_column", "008_rename_column", "004_add_column"):
        apply(ch, db, tmp_path, migration(mid))
    insert_item(ch, db, 7, name="seven", body="b", state="open", color="blue")
    assert ch.query(f"SELECT id, title FROM {db}.items_mirror FINAL").result_rows == [(7, "seven")]
    assert ch.query(f"SELECT id, title FROM {db}.open_items").result_rows == [(7, "seven")]
    assert ch.query(f"SELECT title, body, color FROM {db}.items_all FINAL").result_rows == [
        ("seven", "b", "blue")
    ]
    assert ch.query(f"SELECT bucket, n FROM {db}.item_totals").result_rows == [(3, 1)]


@contextmanager
def concurrent_writer(
    chdb_path: Path, insert: Callable[[Any, int], None]
) -> Iterator[tuple[list[int], list[str]]]:
    """A second client calls ``insert(client, i)`` for i = 1, 2, … from a thread while the body
    runs (and at least 20 times); yields the ids sent and the errors of failed inserts."""
    import clickhouse_connect

    writer = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    stop = threading.Event()
    sent: list[int] = []
    failed: list[str] = []

    def write() -> None:
        i = 0
        while not stop.is_set() or i < 20:
            i += 1
            try:
                insert(writer, i)
                sent.append(i)
            except Exception as exc:
                failed.append(str(exc)[:200])

    thread = threading.Thread(target=write)
    thread.start()
    try:
        time.sleep(0.2)
        yield sent, failed
    finally:
        stop.set()
        thread.join()
        writer.close()


@pytest.mark.parametrize("strategy", ["auto", "exchange", "modify_query"])
def test_concurrent_writer_loses_and_double_counts_nothing(
    ch: Any, chdb_path: Path, tmp_path: Path, strategy: str
) -> None:
    """A second client inserts into the source for the whole apply of an add (star view target
    first) and a drop that rewrites a ReplacingMergeTree view (exchange under auto) and a
    SummingMergeTree one (MODIFY QUERY under auto)."""
    db = f"gm_writer_{strategy}"
    load_layout(ch, db)

    def insert(writer: Any, i: int) -> None:
        writer.insert(
            "siphon_items",
            [[i, f"t{i}", "b", "open", 1]],
            column_names=["id", "title", "body", "state", "qty"],
            database=db,
        )

    with concurrent_writer(chdb_path, insert) as (sent, failed):
        m = Migration(
            id="w1",
            source=Source(framework="sql", version="1"),
            operations=[
                AddColumn(table=TableRef(name="items"), column=Column(name="c", type=t("int64"))),
                DropColumn(table=TableRef(name="items"), column="weight"),
            ],
        )
        plan = apply(ch, db, tmp_path, m, mv_strategy=strategy)
    assert uses_temp_view(plan) == (strategy != "modify_query")
    assert failed == []
    n = len(sent)
    assert n >= 20
    assert ch.query(f"SELECT count() FROM {db}.items_mirror FINAL").result_rows == [(n,)]
    assert ch.query(f"SELECT count() FROM {db}.items_all FINAL").result_rows == [(n,)]
    assert ch.query(f"SELECT count() FROM {db}.open_items FINAL").result_rows == [(n,)]
    # The SummingMergeTree rollup must count each row once under auto and modify_query.
    totals = ch.query(f"SELECT sum(n), sum(qty) FROM {db}.item_totals").result_rows
    if strategy != "exchange":
        assert totals == [(n, n)]
    else:
        assert totals[0][0] >= n  # exchange forced on a Summing target may double-count


def swap(a: str, b: str, table: str = "items") -> Migration:
    """A migration swapping ``a`` and ``b`` of ``table``."""
    return Migration(
        id=f"swap_{a}_{b}",
        source=Source(framework="sql", version="1"),
        operations=[SwapColumns(table=TableRef(name=table), a=a, b=b)],
    )


SWAPS: dict[str, Migration] = {
    # title String <-> qty Int32: three renames, views rewritten in the same steps
    "swap_title_qty": swap("title", "qty"),
    # a Null landing table, String <-> Nullable(String): one ALTER + the view
    "swap_null_types": swap("action", "detail", "events"),
}


def fixture_migration(stem: str) -> Migration:
    """A fixture migration by file stem, or one of :data:`SWAPS`."""
    return SWAPS[stem] if stem in SWAPS else migration(stem)


KILL_MIGRATIONS: list[tuple[str, dict[str, Any]]] = [
    ("004_add_column", {}),
    ("005_drop_column", {}),
    ("008_rename_column", {}),
    ("008_rename_column", {"mv_strategy": "exchange"}),
    ("009_swap_columns", {}),
    ("009_swap_columns", {"mv_strategy": "exchange"}),
    ("swap_title_qty", {}),
    ("swap_null_types", {}),
    ("019_rename_then_drop", {}),
    ("020_rename_null_column", {}),
]


class Interrupt(Exception):
    pass


def reference(client: Any, db: str, root: Path, mig: Migration, **settings: Any) -> dict[str, Any]:
    load_layout(client, db)
    apply(client, db, root, mig, **settings)
    return snapshot(client, db)


def state_rows(client: Any, db: str) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in client.query(
            f"SELECT migration_id, checksum, step, steps, statements_hash "
            f"FROM {db}.gen_migrate_migrations ORDER BY step"
        ).result_rows
    ]


@pytest.mark.parametrize(
    ("stem", "settings"), KILL_MIGRATIONS, ids=[s + "".join(v.values()) for s, v in KILL_MIGRATIONS]
)
def test_interrupted_between_and_inside_steps_converges(
    ch: Any, tmp_path: Path, stem: str, settings: dict[str, Any]
) -> None:
    mig = fixture_migration(stem)
    db = "gm_kill"
    expected = reference(ch, db, tmp_path, mig, **settings)
    expected_state = state_rows(ch, db)
    steps = len(target(ch, db, tmp_path, **settings).plan(mig, mig.checksum(), Schema()).steps)
    for k in range(steps):
        for inside in (False, True):
            load_layout(ch, db)
            tg = target(ch, db, tmp_path, **settings)
            plan = tg.plan(mig, mig.checksum(), Schema())

            def stop_after(step: Step, event: str, k: int = k, inside: bool = inside) -> None:
                if event == "start" and step.index == k and inside:
                    # the step's first statement runs, then the process dies before the rest
                    # and before recording it
                    ch.command(step.statements[0])
                    raise Interrupt
                if event == "done" and step.index == k:
                    raise Interrupt

            with pytest.raises(Interrupt):
                tg.execute(plan, stop_after)
            rerun = target(ch, db, tmp_path, **settings)
            resumed = rerun.plan(mig, mig.checksum(), Schema())
            assert [s.statements for s in resumed.steps] == [s.statements for s in plan.steps]
            rerun.execute(resumed)
            assert snapshot(ch, db) == expected, (k, inside)
            assert state_rows(ch, db) == expected_state, (k, inside)


SUBPROCESS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
import clickhouse_connect
from clickhouse_helpers import load_layout, migration, snapshot, target
from gen_migrate.generic.schema import Schema
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
db, mode = sys.argv[2], sys.argv[3]
if mode == "load":
    load_layout(client, db)
    print("loaded", flush=True)
    sys.exit(0)
mig = migration("005_drop_column")
tg = target(client, db, "/tmp")
plan = tg.plan(mig, mig.checksum(), Schema())
def slow(step, event):
    if event == "start":
        print("start", step.index, flush=True)
        if mode == "slow":
            time.sleep(0.3)
tg.execute(plan, slow)
print(json.dumps(snapshot(client, db)), flush=True)
"""


def test_killed_process_reruns_to_the_same_schema(ch: Any, tmp_path: Path) -> None:
    """apply runs in a subprocess that is SIGKILLed mid-plan; a new process finishes it."""
    mig = migration("005_drop_column")
    expected = reference(ch, "gm_proc", tmp_path, mig)
    path = tmp_path / "proc-chdb"
    tests = str(Path(__file__).parent)
    cmd = [sys.executable, "-c", SUBPROCESS, str(path), "gm_proc"]
    subprocess.run([*cmd, "load", tests], check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen([*cmd, "slow", tests], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("start 5"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    done = subprocess.run([*cmd, "fast", tests], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == expected


WEIRD_TABLE = "we`ird'; DROP TABLE x; --\"t"
WEIRD_COLUMNS = ["a b", "c`d", "e'f", 'g"h', "i;j", "k\\l"]


def test_identifiers_with_quotes_backticks_spaces_semicolons(ch: Any, tmp_path: Path) -> None:
    db = "gm weird`db"
    reset_database(ch, db.replace("`", "``"))
    ref = TableRef(name=WEIRD_TABLE)
    ops = [
        CreateTable(
            table=ref,
            columns=[Column(name="id", type=t("int64"), nullable=False)]
            + [Column(name=n, type=t("string")) for n in WEIRD_COLUMNS],
            primary_key=["id"],
        ),
        AddColumn(table=ref, column=Column(name="new`;col", type=t("int32"), default="1")),
        RenameColumn(table=ref, column="a b", new_name="a'b`c"),
        DropColumn(table=ref, column="i;j"),
        SwapColumns(table=ref, a="c`d", b="e'f"),
    ]
    m = Migration(id="weird", source=Source(framework="sql", version="1"), operations=ops)
    apply(ch, db, tmp_path, m, table="{table}")
    cols = [
        r[0]
        for r in ch.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} "
            "ORDER BY position",
            parameters={"d": db, "t": WEIRD_TABLE},
        ).result_rows
    ]
    assert cols == [
        "id", "a'b`c", "c`d", "e'f", 'g"h', "k\\l",
        "_siphon_replicated_at", "_siphon_deleted", "new`;col",
    ]  # fmt: skip
    assert ch.query("SELECT count() FROM system.tables WHERE name = 'x'").result_rows == [(0,)]


def test_on_cluster_plans_parse_back_with_sqlglot(ch: Any, tmp_path: Path) -> None:
    db = "gm_cluster"
    load_layout(ch, db)
    cluster = "main `cluster'"
    statements: list[str] = []
    for stem in (
        "001_create_table",
        "004_add_column",
        "005_drop_column",
        "008_rename_column",
        "009_swap_columns",
        "010_widen_type",
        "012_set_nullable",
        "003_rename_table",
    ):
        mig = migration(stem)
        plan = target(ch, db, tmp_path, cluster=cluster).plan(mig, mig.checksum(), Schema())
        assert not plan.refusals
        statements += [s for step in plan.steps for s in step.statements]
    statements += StateStore(ch, db, cluster).ddl()
    for sql in statements:
        tree = sqlglot.parse_one(sql, read="clickhouse")
        if sql.startswith(INSERTS_RUNNING):
            # a wait step reads the process list of every replica
            table = tree.find(exp.Anonymous)
            assert table is not None and table.name == "clusterAllReplicas", sql
            assert table.expressions[0].name == cluster, sql
        elif isinstance(tree, exp.Command):
            # sqlglot keeps EXCHANGE, RENAME TABLE and MODIFY QUERY as opaque commands
            assert "ON CLUSTER `main \\`cluster'`" in sql, sql
        else:
            node = tree.find(exp.OnCluster)
            assert node is not None, sql
            assert node.this.name == cluster, sql
    assert len(statements) >= 20


def test_lossy_type_change_runs_its_data_check_first(ch: Any, tmp_path: Path) -> None:
    from gen_migrate.errors import StepFailedError

    db = "gm_precheck"
    load_layout(ch, db)
    insert_item(ch, db, 1, title="a", qty=100_000)
    insert_item(ch, db, 2, title="b", qty=5)
    tg = target(ch, db, tmp_path, allow_lossy_type_changes=True)
    mig = migration("018_narrow_type_allowed")
    plan = tg.plan(mig, mig.checksum(), Schema())
    with pytest.raises(StepFailedError, match="1 values do not convert"):
        tg.execute(plan)
    assert snapshot(ch, db)["columns"]["siphon_items"][4] == "qty Int32"
    ch.command(f"ALTER TABLE {db}.siphon_items DELETE WHERE id = 1 SETTINGS mutations_sync = 2")
    tg.execute(tg.plan(mig, mig.checksum(), Schema()))
    assert snapshot(ch, db)["columns"]["siphon_items"][4] == "qty Int16"
    assert ch.query(f"SELECT qty FROM {db}.siphon_items").result_rows == [(5,)]


def qty_of(i: int) -> int:
    return i % 7 + 1


RENAMES: dict[str, tuple[str, tuple[str, ...], Callable[[int], Any]]] = {
    # column -> (new name, targets whose rows carry it under the old name, value of row i)
    "title": ("name", ("items_mirror", "items_all", "open_items"), lambda i: f"t{i}"),
    "qty": ("quantity", ("items_all",), qty_of),
}


@pytest.mark.parametrize("column", sorted(RENAMES))
@pytest.mark.parametrize("strategy", ["auto", "exchange", "modify_query"])
def test_concurrent_writer_survives_rename_of_a_column_views_read(
    ch: Any, chdb_path: Path, tmp_path: Path, strategy: str, column: str
) -> None:
    """A CDC-style writer inserts rows as Postgres still spells them (the Postgres rename runs
    after ``apply --phase pre``) for the whole apply of a rename that explicit views, a star
    view and (for ``qty``) a SummingMergeTree rollup read. It sends JSON rows and lets the
    server keep the columns the table has at that moment (what the consumer's column filter
    does), so no insert names a column that is gone. No insert fails, no row is lost or
    counted twice (bar a forced EXCHANGE on the Summing target), every row written before the
    old name stops feeding the new one reaches every target with its value, and rows written
    before the apply keep theirs after the old column is dropped."""
    new, targets, value = RENAMES[column]
    db = f"gm_rename_{strategy}_{column}"
    load_layout(ch, db)
    for i in range(-5, 0):
        insert_item(ch, db, i, title=f"t{i}", body="b", state="open", qty=qty_of(i))

    def insert(writer: Any, i: int) -> None:
        row = {"id": i, "title": f"t{i}", "body": "b", "state": "open", "qty": qty_of(i)}
        writer.command(
            f"INSERT INTO `{db}`.siphon_items SETTINGS input_format_skip_unknown_fields"
            f" = 1 FORMAT JSONEachRow {json.dumps(row)}"
        )

    cut: list[int] = []

    def on_step(step: Step, event: str) -> None:
        if event == "start" and step.title.startswith("remove the DEFAULT"):
            cut.append(len(sent))

    tg = target(ch, db, tmp_path, mv_strategy=strategy)
    mig = Migration(
        id="r1",
        source=Source(framework="sql", version="1"),
        operations=[RenameColumn(table=TableRef(name="items"), column=column, new_name=new)],
    )
    plan = tg.plan(mig, mig.checksum(), Schema())
    assert not plan.refusals
    with concurrent_writer(chdb_path, insert) as (sent, failed):
        tg.execute(plan, on_step)
    assert uses_temp_view(plan) == (strategy == "exchange")
    assert not any("RENAME COLUMN" in sql for s in plan.steps for sql in s.statements)
    assert failed == []
    n = len(sent)
    assert n >= 20 and sent == list(range(1, n + 1))
    assert len(cut) == 1 and cut[0] >= 1
    everyone = list(range(-5, 0)) + sent
    early = {i: value(i) for i in everyone if i <= cut[0]}
    for table in targets:
        rows = dict(ch.query(f"SELECT id, {column} FROM `{db}`.{table} FINAL").result_rows)
        assert sorted(rows) == everyone, table
        assert {i: rows[i] for i in early} == early, table
        # a later row holds its value or, once the old name no longer feeds the new one, the
        # default (the consumer's business until Postgres renames too)
        assert all(rows[i] in (value(i), "", 0) for i in rows), table
    source = dict(ch.query(f"SELECT id, {new} FROM `{db}`.siphon_items FINAL").result_rows)
    assert {i: source[i] for i in early} == early
    count, total = ch.query(f"SELECT sum(n), sum(qty) FROM `{db}`.item_totals").result_rows[0]
    if strategy == "exchange" and column == "qty":
        assert count >= n + 5  # EXCHANGE forced on a Summing target may double-count
    else:
        assert count == n + 5
        if column == "title":
            assert total == sum(qty_of(i) for i in everyone)
        else:
            assert sum(early.values()) <= total <= sum(qty_of(i) for i in everyone)


# case -> (source columns, table clauses, renamed column, why RENAME COLUMN stays or None)
LOGS: dict[str, tuple[str, str, str, str | None]] = {
    "skip-index": (
        "c String, t DateTime, INDEX ic c TYPE bloom_filter GRANULARITY 1",
        "",
        "c",
        "skip index ic uses c",
    ),
    "ttl": ("c String, t DateTime", " TTL t + INTERVAL 1 YEAR", "t", "the TTL of"),
    "default": ("c String DEFAULT 'zz', t DateTime", "", "c", None),
}


@pytest.mark.parametrize("case", sorted(LOGS))
def test_rename_keeps_index_ttl_and_default(ch: Any, tmp_path: Path, case: str) -> None:
    """A column a skip index or the TTL names cannot be dropped (ClickHouse refuses), so its
    rename stays RENAME COLUMN (which rewrites them) and the plan says why; a column with a
    DEFAULT is renamed by copy and the new name ends with that DEFAULT. Either way the view
    reads the new name and rows written before and after reach its target."""
    columns, clauses, col, blocker = LOGS[case]
    other = "t" if col == "c" else "c"
    db = f"gm_logs_{case.replace('-', '_')}"
    reset_database(ch, db)
    ch.command(
        f"CREATE TABLE {db}.siphon_logs (id Int64, {columns}) "
        f"ENGINE = MergeTree ORDER BY id{clauses}"
    )
    ch.command(f"CREATE TABLE {db}.logs (id Int64, c String, t DateTime) ENGINE = Log")
    ch.command(
        f"CREATE MATERIALIZED VIEW {db}.logs_mv TO {db}.logs "
        f"AS SELECT id, c, t FROM {db}.siphon_logs"
    )
    ch.command(f"INSERT INTO {db}.siphon_logs (id, c, t) VALUES (1, 'one', '2030-01-01')")
    m = Migration(
        id="logs",
        source=Source(framework="sql", version="1"),
        operations=[RenameColumn(table=TableRef(name="logs"), column=col, new_name="renamed")],
    )
    plan = apply(ch, db, tmp_path, m)
    statements = [sql for step in plan.steps for sql in step.statements]
    if blocker:
        assert len(plan.steps) == 1 and "RENAME COLUMN" in statements[0]
        assert blocker in plan.steps[0].note
    else:
        assert not any("RENAME COLUMN" in sql for sql in statements)
        assert any("MATERIALIZE COLUMN" in sql for sql in statements)
    created = ch.query(
        "SELECT create_table_query FROM system.tables WHERE database = {d:String} "
        "AND name = 'siphon_logs'",
        parameters={"d": db},
    ).result_rows[0][0]
    defaults = dict(
        ch.query(
            "SELECT name, default_expression FROM system.columns WHERE database = {d:String} "
            "AND table = 'siphon_logs'",
            parameters={"d": db},
        ).result_rows
    )
    assert col not in defaults and "renamed" in defaults
    if case == "skip-index":
        assert "INDEX ic renamed TYPE bloom_filter" in created
    elif case == "ttl":
        assert "TTL renamed + toIntervalYear(1)" in created
    else:
        assert defaults["renamed"] == "'zz'"
    ch.command(
        f"INSERT INTO {db}.siphon_logs (id, renamed, {other}) VALUES (2, "
        + ("'2030-01-02', 'two')" if col == "t" else "'two', '2030-01-02')")
    )
    rows = ch.query(f"SELECT id, c, t FROM {db}.logs ORDER BY id").result_rows
    assert rows == [(1, "one", datetime(2030, 1, 1)), (2, "two", datetime(2030, 1, 2))]
    kept = ch.query(f"SELECT renamed FROM {db}.siphon_logs ORDER BY id").result_rows
    assert [r[0] for r in kept] == [r[1 if col == "c" else 2] for r in rows]


def test_rename_of_a_column_another_default_reads_is_refused(ch: Any, tmp_path: Path) -> None:
    db = "gm_logs_dep"
    reset_database(ch, db)
    ch.command(
        f"CREATE TABLE {db}.siphon_logs (`id` Int64, `c` String, `u` String DEFAULT upper(c)) "
        "ENGINE = MergeTree ORDER BY id"
    )
    m = Migration(
        id="dep",
        source=Source(framework="sql", version="1"),
        operations=[RenameColumn(table=TableRef(name="logs"), column="c", new_name="e")],
    )
    plan = target(ch, db, tmp_path).plan(m, m.checksum(), Schema())
    assert not plan.steps
    assert [(r.table, r.column) for r in plan.refusals] == [("siphon_logs", "c")]
    assert "DEFAULT expression of u" in plan.refusals[0].reason


def test_rename_waits_for_inserts_begun_before_its_new_column(
    ch: Any, chdb_path: Path, tmp_path: Path
) -> None:
    """The wait step lists the inserts running into the source and waits for them: a slow
    insert begun before the new column existed outlasts a short wait, the step fails naming
    it, and the rerun after that insert finished resumes and converges; the insert succeeds."""
    import clickhouse_connect

    from gen_migrate.errors import StepFailedError

    db = "gm_settle"
    load_layout(ch, db)
    writer = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    outcome: list[str] = []

    def slow_insert() -> None:
        try:
            writer.command(
                f"INSERT INTO {db}.siphon_items (id, title, body, state, qty) "
                "SELECT number, concat('s', toString(number + sleepEachRow(0.4))), 'b', 'open', 1 "
                "FROM numbers(4) SETTINGS max_block_size = 1, max_threads = 1"
            )
            outcome.append("ok")
        except Exception as exc:
            outcome.append(str(exc)[:300])

    tg = target(ch, db, tmp_path)
    tg.insert_wait_seconds = 0.3
    mig = migration("008_rename_column")
    plan = tg.plan(mig, mig.checksum(), Schema())
    waits = [s.index for s in plan.steps if s.title.startswith("wait for inserts")]
    assert len(waits) == 3
    thread = threading.Thread(target=slow_insert)
    thread.start()
    try:
        time.sleep(0.3)
        with pytest.raises(StepFailedError, match="inserts still running"):
            tg.execute(plan)
    finally:
        thread.join()
        writer.close()
    assert outcome == ["ok"]
    done = tg.applied()[mig.id].steps_done
    assert min(waits) not in done
    rerun = target(ch, db, tmp_path)
    rerun.execute(rerun.plan(mig, mig.checksum(), Schema()))
    rows = ch.query(f"SELECT id, title FROM {db}.items_mirror FINAL ORDER BY id").result_rows
    assert rows == [(i, f"s{i}") for i in range(4)]
    names = ch.query(f"SELECT id, name FROM {db}.siphon_items FINAL ORDER BY id").result_rows
    assert names == rows


TEXT_TOTALS = [
    "CREATE TABLE `{db}`.text_totals (bucket Int64, title_len UInt64, body_len UInt64, "
    "n UInt64) ENGINE = SummingMergeTree ORDER BY bucket",
    "CREATE MATERIALIZED VIEW `{db}`.text_totals_mv TO `{db}`.text_totals AS SELECT id % 4 AS "
    "bucket, length(title) AS title_len, length(body) AS body_len, toUInt64(1) AS n "
    "FROM `{db}`.siphon_items",
]


def text_of(i: int) -> tuple[str, str]:
    """(title, body) of row i: different lengths, so a swapped read shows in the sums."""
    return f"t{i}", f"body{i}"


@pytest.mark.parametrize("strategy", ["auto", "exchange", "modify_query"])
def test_concurrent_writer_survives_same_type_swap(
    ch: Any, chdb_path: Path, tmp_path: Path, strategy: str
) -> None:
    """A writer inserts rows naming both swapped columns for the whole apply of a swap of two
    String columns that explicit views, a star view and a SummingMergeTree rollup read. No
    column is renamed, so no insert fails; every row reaches every target once (bar a forced
    EXCHANGE on the Summing target); rows written before the apply are swapped in the source
    and unchanged in the targets."""
    db = f"gm_swap_{strategy}"
    load_layout(ch, db)
    for sql in TEXT_TOTALS:
        ch.command(sql.format(db=db))
    early = list(range(-5, 0))
    for i in early:
        title, body = text_of(i)
        insert_item(ch, db, i, title=title, body=body, state="open", qty=1)

    def insert(writer: Any, i: int) -> None:
        title, body = text_of(i)
        writer.insert(
            "siphon_items",
            [[i, title, body, "open", 1]],
            column_names=["id", "title", "body", "state", "qty"],
            database=db,
        )

    tg = target(ch, db, tmp_path, mv_strategy=strategy)
    mig = swap("title", "body")
    plan = tg.plan(mig, mig.checksum(), Schema())
    assert not plan.refusals
    with concurrent_writer(chdb_path, insert) as (sent, failed):
        tg.execute(plan)
    statements = [sql for step in plan.steps for sql in step.statements]
    assert not any("RENAME COLUMN" in sql for sql in statements)
    assert sum(" UPDATE `title` = `body`, `body` = `title` " in sql for sql in statements) == 1
    assert uses_temp_view(plan) == (strategy == "exchange")
    assert failed == []
    n = len(sent)
    assert n >= 20 and sent == list(range(1, n + 1))
    everyone = early + sent
    source = ch.query(f"SELECT id, title, body FROM `{db}`.siphon_items FINAL").result_rows
    assert sorted(r[0] for r in source) == everyone
    values = {r[0]: (r[1], r[2]) for r in source}
    assert {i: values[i] for i in early} == {i: text_of(i)[::-1] for i in early}
    # a row Postgres sends once its own swap ran: title holds the text body held
    last = n + 1
    insert_item(ch, db, last, title=text_of(last)[1], body=text_of(last)[0], state="open", qty=1)
    everyone.append(last)
    for table, columns in (
        ("items_mirror", "title, title"),
        ("open_items", "title, title"),
        ("items_all", "title, body"),
    ):
        rows = ch.query(f"SELECT id, {columns} FROM `{db}`.{table} FINAL ORDER BY id").result_rows
        assert [r[0] for r in rows] == everyone, table
        # each row arrives as sent (read before its view was rewritten) or swapped (after)
        seen = []
        for i, first, second in rows:
            sent_as = text_of(i) if columns.endswith("body") else (text_of(i)[0],) * 2
            swapped_as = sent_as[::-1] if columns.endswith("body") else (text_of(i)[1],) * 2
            assert (first, second) in (sent_as, swapped_as), (table, i)
            seen.append((first, second) == swapped_as)
        assert not any(seen[:5]), table  # written before the apply: unchanged
        # Postgres's row sent after its swap reaches the target with the pre-swap meaning
        assert not seen[-1], table
        if strategy != "exchange":  # (the EXCHANGE window delivers a row both ways)
            assert seen[5:-1] == sorted(seen[5:-1]), table  # one switch: the rewrite
            # a row a view took through its old query was written before the mutation: the
            # source holds it swapped, as the view's new query expects
            old_query = [i for i, swapped in zip(everyone, seen, strict=True) if not swapped]
            assert all(values[i] == text_of(i)[::-1] for i in old_query[:-1]), table
    count, lengths = ch.query(
        f"SELECT sum(n), sum(title_len + body_len) FROM `{db}`.text_totals"
    ).result_rows[0]
    # negative buckets hold only rows written before the apply: their sums are unchanged
    negative = ch.query(
        f"SELECT sum(title_len), sum(body_len) FROM `{db}`.text_totals WHERE bucket < 0"
    ).result_rows
    assert negative == [
        (
            sum(len(text_of(i)[0]) for i in early if i % 4),
            sum(len(text_of(i)[1]) for i in early if i % 4),
        )
    ]
    if strategy == "exchange":
        assert count >= n + 6  # EXCHANGE forced on a Summing target may double-count
    else:
        assert count == n + 6
        assert lengths == sum(len(t) + len(b) for t, b in map(text_of, everyone))
    assert ch.query(f"SELECT sum(n) FROM `{db}`.item_totals").result_rows == [(n + 6,)]


def apply_checking_guards(client: Any, db: str, root: Path, mig: Migration, **settings: Any) -> Any:
    """:func:`apply`, asserting that each step's guards hold right after the step ran (what a
    rerun interrupted before recording it relies on)."""

    def check(step: Step, event: str) -> None:
        if event == "done":
            for guard in step_guards(step.payload, len(step.statements)):
                assert guard.kind == "never" or guard_holds(client, db, guard), (step.title, guard)

    tg = target(client, db, root, **settings)
    plan = tg.plan(mig, mig.checksum(), Schema())
    assert not plan.refusals, plan.refusals
    tg.execute(plan, check)
    return plan


def test_swap_of_different_types_renames_and_rewrites_views_in_the_same_steps(
    ch: Any, tmp_path: Path
) -> None:
    """title String <-> qty Int32: three renames, each followed by the MODIFY QUERY of the
    views it moves a column under; every view keeps feeding its target the same values with
    the same types, before and after, and the plan says inserts in the window can fail."""
    db = "gm_swap_types"
    load_layout(ch, db)
    insert_item(ch, db, 1, title="one", body="b", state="open", qty=5)
    plan = apply_checking_guards(ch, db, tmp_path, swap("title", "qty"))
    renames = [s for s in plan.steps if "RENAME COLUMN" in s.statements[0]]
    assert len(renames) == len(plan.steps) == 3
    assert all(sql.split()[3] == "MODIFY" for s in renames for sql in s.statements[1:])
    assert any("an insert naming title or qty fails" in note for note in plan.notes)
    after = snapshot(ch, db)
    assert after["columns"]["siphon_items"][:5] == [
        "id Int64", "qty String", "body String", "weight Nullable(Int64)", "title Int32",
    ]  # fmt: skip
    views = after["views"]
    t = "siphon_items"
    assert views == {
        "events_mv": f"SELECT * FROM {db}.siphon_events",
        "items_mirror_mv": f"SELECT id, {t}.qty AS title, weight, _siphon_replicated_at, "
        f"_siphon_deleted FROM {db}.{t}",
        "open_items_mv": f"SELECT id, {t}.qty AS title FROM {db}.{t} WHERE state = 'open'",
        "item_totals_mv": f"SELECT id % 4 AS bucket, {t}.title AS qty, toUInt64(1) AS n "
        f"FROM {db}.{t}",
        "items_all_mv": f"SELECT * EXCEPT (title, qty), {t}.qty AS title, {t}.title AS qty "
        f"FROM {db}.{t}",
    }
    # a row Postgres sends after its swap: title holds the number, qty the text
    insert_item(ch, db, 2, title=7, body="b", state="open", qty="two")
    assert ch.query(f"SELECT id, title, qty FROM {db}.siphon_items ORDER BY id").result_rows == [
        (1, 5, "one"),
        (2, 7, "two"),
    ]
    for table in ("items_mirror", "open_items"):
        rows = ch.query(f"SELECT id, title FROM {db}.{table} FINAL ORDER BY id").result_rows
        assert rows == [(1, "one"), (2, "two")], table
    rows = ch.query(f"SELECT id, title, qty FROM {db}.items_all FINAL ORDER BY id").result_rows
    assert rows == [(1, "one", 5), (2, "two", 7)]
    assert ch.query(f"SELECT sum(qty), sum(n) FROM {db}.item_totals").result_rows == [(12, 2)]
    mig = swap("title", "qty")
    events: list[str] = []
    tg = target(ch, db, tmp_path)
    tg.execute(tg.plan(mig, mig.checksum(), Schema()), lambda step, event: events.append(event))
    assert set(events) == {"skipped"}


@pytest.mark.parametrize("sync", ["0", "2"])
def test_rerun_waits_for_the_swap_mutation_and_never_swaps_twice(
    ch: Any, tmp_path: Path, sync: str
) -> None:
    """The process dies right after creating the swap mutation (``mutations_sync = 0``: it may
    still run) or after it finished, before recording the step. The rerun finds the mutation
    by its marker, waits for it and does not issue it again: the values end swapped once."""
    db = f"gm_swap_rerun_{sync}"
    load_layout(ch, db)
    for i in range(1, 4):
        insert_item(ch, db, i, title=f"t{i}", body=f"b{i}", state="open", qty=1)
    mig = migration("009_swap_columns")
    tg = target(ch, db, tmp_path)
    plan = tg.plan(mig, mig.checksum(), Schema())
    [index] = [s.index for s in plan.steps if s.title.startswith("swap the values")]

    def die(step: Step, event: str) -> None:
        if event == "start" and step.index == index:
            sql = step.statements[0]
            ch.command(sql.replace("mutations_sync = 2", f"mutations_sync = {sync}"))
            raise Interrupt

    with pytest.raises(Interrupt):
        tg.execute(plan, die)
    assert index not in tg.applied()[mig.id].steps_done
    rerun = target(ch, db, tmp_path)
    ran: list[tuple[int, str]] = []
    rerun.execute(rerun.plan(mig, mig.checksum(), Schema()), lambda s, e: ran.append((s.index, e)))
    assert (index, "skipped") in ran
    rows = ch.query(f"SELECT id, title, body FROM {db}.siphon_items ORDER BY id").result_rows
    assert rows == [(i, f"b{i}", f"t{i}") for i in range(1, 4)]
    commands = ch.query(
        "SELECT command FROM system.mutations WHERE database = {d:String} AND table = "
        "'siphon_items'",
        parameters={"d": db},
    ).result_rows
    assert commands == [
        (
            "(UPDATE title = body, body = title WHERE 'gen-migrate swap 009_swap_columns step "
            f"{index}' != '')",
        )
    ]


def test_swap_on_a_null_table_rewrites_its_views(ch: Any, tmp_path: Path) -> None:
    """A Null landing table holds no rows: a same-type swap only rewrites the view (no
    mutation, no rename); different types exchange the types in one ALTER, then the view.
    Either way a row sent after Postgres's swap reaches the target with the pre-swap meaning."""
    db = "gm_swap_null"
    load_layout(ch, db)
    for table in ("siphon_events", "events"):
        ch.command(f"ALTER TABLE {db}.{table} ADD COLUMN kind String AFTER action")
    same = apply_checking_guards(ch, db, tmp_path, swap("action", "kind", "events"))
    statements = [sql for step in same.steps for sql in step.statements]
    assert len(statements) == 1 and "MODIFY QUERY" in statements[0]
    ch.command(
        f"INSERT INTO {db}.siphon_events (id, action, kind, detail) VALUES (1, 'k1', 'a1', 'd1')"
    )
    types = apply_checking_guards(ch, db, tmp_path, swap("kind", "detail", "events"))
    assert [len(step.statements) for step in types.steps] == [2]
    columns = snapshot(ch, db)["columns"]["siphon_events"]
    assert columns[1:4] == ["action String", "kind Nullable(String)", "detail String"]
    # after both swaps Postgres sends action <- kind, kind <- detail, detail <- action
    ch.command(
        f"INSERT INTO {db}.siphon_events (id, action, kind, detail) VALUES (2, 'k2', 'd2', 'a2')"
    )
    rows = ch.query(f"SELECT id, action, kind, detail FROM {db}.events ORDER BY id").result_rows
    assert rows == [(1, "a1", "k1", "d1"), (2, "a2", "k2", "d2")]


SEQUENCE = [
    "004_add_column",
    "010_widen_type",
    "012_set_nullable",
    "013_set_default",
    "009_swap_columns",
    "008_rename_column",
    "005_drop_column",
]


@pytest.mark.parametrize("strategy", ["auto", "modify_query"])
def test_concurrent_writer_through_a_sequence_of_every_column_operation(
    ch: Any, chdb_path: Path, tmp_path: Path, strategy: str
) -> None:
    """One CDC-style writer (JSON rows naming old and new columns, unknown ones skipped, as the
    consumer's column filter does) inserts for the whole apply of seven migrations in a row:
    add, widen, set/drop NOT NULL, set default, a same-type swap, a rename and a drop of a
    column the SummingMergeTree rollup reads. No insert fails, every row reaches every target
    exactly once, and the rollup counts each row once."""
    db = f"gm_sequence_{strategy}"
    load_layout(ch, db)

    def insert(writer: Any, i: int) -> None:
        row = {
            "id": i,
            "title": f"t{i}",
            "name": f"t{i}",
            "body": "b",
            "state": "open",
            "qty": qty_of(i),
            "note": "n",
            "color": "blue",
        }
        writer.command(
            f"INSERT INTO `{db}`.siphon_items SETTINGS input_format_skip_unknown_fields"
            f" = 1 FORMAT JSONEachRow {json.dumps(row)}"
        )

    with concurrent_writer(chdb_path, insert) as (sent, failed):
        for stem in SEQUENCE:
            apply(ch, db, tmp_path / stem, migration(stem), mv_strategy=strategy)
    assert failed == []
    n = len(sent)
    assert n >= 20 and sent == list(range(1, n + 1))
    for table in ("siphon_items", "items_mirror", "items_all", "open_items"):
        ids = [
            r[0] for r in ch.query(f"SELECT id FROM `{db}`.{table} FINAL ORDER BY id").result_rows
        ]
        assert ids == sent, table
    assert ch.query(f"SELECT sum(n) FROM `{db}`.item_totals").result_rows == [(n,)]
    columns = [r[0] for r in ch.query(f"DESCRIBE `{db}`.siphon_items").result_rows]
    assert "name" in columns and "qty" not in columns and "color" in columns


def test_view_with_an_inner_table_is_rewritten_in_place_or_refused(ch: Any, tmp_path: Path) -> None:
    """A materialized view without a TO table keeps its rows in its own inner table: dropping
    it (the temp-view route) would drop them. A rename rewrites it with MODIFY QUERY even under
    ``mv_strategy = "exchange"`` and keeps its rows; a drop of a column it outputs is refused
    before anything runs, naming the view."""
    db = "gm_inner_view"
    load_layout(ch, db)
    ch.command(
        f"CREATE MATERIALIZED VIEW {db}.inner_mv ENGINE = MergeTree ORDER BY id "
        f"AS SELECT id, title, weight FROM {db}.siphon_items"
    )
    insert_item(ch, db, 1, title="t1", body="b", state="open", weight=5)
    before = snapshot(ch, db)
    tg = target(ch, db, tmp_path, mv_strategy="exchange")
    drop = migration("005_drop_column")
    refused = tg.plan(drop, drop.checksum(), Schema())
    assert [(r.table, r.column) for r in refused.refusals] == [("siphon_items", "weight")]
    assert "inner_mv" in refused.refusals[0].reason and not refused.steps
    assert snapshot(ch, db) == before
    plan = apply(ch, db, tmp_path, migration("008_rename_column"), mv_strategy="exchange")
    statements = [sql for step in plan.steps for sql in step.statements]
    assert any(sql.startswith(f"ALTER TABLE `{db}`.`inner_mv` MODIFY QUERY") for sql in statements)
    assert not any("inner_mv" in sql and "MODIFY QUERY" not in sql for sql in statements)
    insert_item(ch, db, 2, name="n2", body="b", state="open", weight=6)
    rows = ch.query(f"SELECT id, title, weight FROM {db}.inner_mv ORDER BY id").result_rows
    assert rows == [(1, "t1", 5), (2, "n2", 6)]
