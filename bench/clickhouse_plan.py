"""ClickHouse plans: statements issued per operation against the minimal sequence, and
introspection queries per plan as the number of tables grows.

    /work/venv/bin/python bench/clickhouse_plan.py

"Minimal" counts one statement per object the migration really changes (tables whose columns
change, views whose query changes, tables created, dropped or renamed), measured by diffing the
catalog before and after, plus the data changes that diff cannot see (a same-type swap keeps the
columns and swaps their values: one UPDATE). "Issued" counts the plan's statements (DDL,
mutations and the wait-for-inserts queries); "guard"/"state" count the catalog checks and
state-table writes execute adds; "introspect" counts the catalog queries of plan.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from clickhouse_helpers import load_layout, migration, snapshot, target  # noqa: E402
from gen_migrate.generic.migration import Migration, Source  # noqa: E402
from gen_migrate.generic.operations import SwapColumns, TableRef  # noqa: E402
from gen_migrate.generic.schema import Schema  # noqa: E402

SWAP_TYPES = Migration(
    id="swap_title_qty",
    source=Source(framework="sql", version="1"),
    operations=[SwapColumns(table=TableRef(name="items"), a="title", b="qty")],
)
"""A swap of columns of different types (String, Int32): three renames with the views."""

DATA_STATEMENTS = {"009_swap_columns": 1}
"""Statements of the minimal sequence the catalog diff cannot see: a same-type swap's UPDATE."""

CASES: list[tuple[str, dict[str, Any]]] = [
    ("001_create_table", {}),
    ("002_drop_table", {}),
    ("003_rename_table", {}),
    ("004_add_column", {}),
    ("005_drop_column", {}),
    ("005_drop_column", {"mv_strategy": "modify_query"}),
    ("008_rename_column", {}),
    ("008_rename_column", {"mv_strategy": "exchange"}),
    ("009_swap_columns", {}),
    ("009_swap_columns", {"mv_strategy": "exchange"}),
    ("swap_title_qty", {}),
    ("010_widen_type", {}),
    ("012_set_nullable", {}),
    ("018_narrow_type_allowed", {"allow_lossy_type_changes": True}),
    ("020_rename_null_column", {}),
]


class Counting:
    """A client proxy counting what goes through it, by kind."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counts: dict[str, int] = {}

    def _count(self, sql: str) -> None:
        head = sql.lstrip().split()[0].upper()
        if "gen_migrate_migrations" in sql:
            kind = "state"
        elif head == "SELECT" and "system." in sql:
            kind = "guard"
        else:
            kind = "ddl"
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def command(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._count(sql)
        return self.client.command(sql, *args, **kwargs)

    def query(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._count(sql)
        return self.client.query(sql, *args, **kwargs)


def minimal(before: dict[str, Any], after: dict[str, Any]) -> int:
    bc, ac = before["columns"], after["columns"]
    views_named = set(before["views"]) | set(after["views"])
    changed = sum(1 for t in (set(bc) | set(ac)) - views_named if bc.get(t) != ac.get(t))
    renamed = len(set(bc) - set(ac)) if len(bc) == len(ac) else 0
    views = sum(1 for v in after["views"] if before["views"].get(v) != after["views"][v])
    return changed - renamed + views


def main() -> None:
    import clickhouse_connect

    with tempfile.TemporaryDirectory() as tmp:
        client = clickhouse_connect.get_client(dsn=f"chdb://{tmp}/chdb")
        root = Path(tmp)
        print(
            f"{'operation':44} {'issued':>6} {'minimal':>7} {'guard':>5} {'state':>5} "
            f"{'introspect':>10} {'plan ms':>7}"
        )
        for stem, settings in CASES:
            db = "bench_ops"
            load_layout(client, db)
            before = snapshot(client, db)
            counting = Counting(client)
            tg = target(counting, db, root, **settings)
            mig = SWAP_TYPES if stem == SWAP_TYPES.id else migration(stem)
            started = time.perf_counter()
            plan = tg.plan(mig, mig.checksum(), Schema())
            plan_ms = (time.perf_counter() - started) * 1000
            introspect = sum(counting.counts.values())
            counting.counts.clear()
            tg.execute(plan)
            issued = sum(len(s.statements) for s in plan.steps)
            label = stem + "".join(f" {k}={v}" for k, v in settings.items())
            least = minimal(before, snapshot(client, db)) + DATA_STATEMENTS.get(stem, 0)
            print(
                f"{label:44} {issued:>6} {least:>7} "
                f"{counting.counts.get('guard', 0):>5} {counting.counts.get('state', 0):>5} "
                f"{introspect:>10} {plan_ms:>7.1f}"
            )
        print()
        print(f"{'extra tables':>12} {'introspection queries':>22} {'plan ms':>8}")
        for extra in (0, 50, 200):
            db = "bench_scale"
            load_layout(client, db)
            for i in range(extra):
                client.command(
                    f"CREATE TABLE {db}.siphon_extra_{i} (id Int64, v String) "
                    "ENGINE = MergeTree ORDER BY id"
                )
            counting = Counting(client)
            tg = target(counting, db, root)
            mig = migration("005_drop_column")
            started = time.perf_counter()
            tg.plan(mig, mig.checksum(), Schema())
            ms = (time.perf_counter() - started) * 1000
            print(f"{extra:>12} {sum(counting.counts.values()):>22} {ms:>8.1f}")
        gitlab(client, root)
        client.close()


def gitlab(client: Any, root: Path) -> None:
    """Plan time on GitLab's real schema (28 loadable views): add + drop + rename on issues."""
    from gen_migrate.generic.migration import Migration, Source
    from gen_migrate.generic.operations import AddColumn, Column, DropColumn, RenameColumn
    from gen_migrate.generic.operations import TableRef as Ref
    from gen_migrate.generic.types import t
    from test_clickhouse_gitlab import DB, REJECTED, gitlab_statements, view_target

    client.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
    client.command(f"CREATE DATABASE {DB} ENGINE = Atomic")
    client.command(f"USE {DB}")
    for name, stmt in gitlab_statements(REPO.parent / "shared" / "corpus"):
        if name not in REJECTED and view_target(stmt) not in REJECTED:
            client.command(stmt)
    issues = Ref(name="issues")
    mig = Migration(
        id="gl",
        source=Source(framework="sql", version="1"),
        operations=[
            AddColumn(table=issues, column=Column(name="sev", type=t("int32"))),
            DropColumn(table=issues, column="weight"),
            RenameColumn(table=issues, column="title", new_name="name"),
        ],
    )
    print()
    print("GitLab schema, add+drop+rename on siphon_issues (work_items_mv):")
    for attempt in ("cold", "warm"):
        counting = Counting(client)
        tg = target(counting, DB, root, type_map="siphon")
        started = time.perf_counter()
        plan = tg.plan(mig, mig.checksum(), Schema())
        ms = (time.perf_counter() - started) * 1000
        print(
            f"  {attempt}: {len(plan.steps)} steps, {sum(counting.counts.values())} "
            f"introspection queries, {ms:.0f} ms"
        )
    started = time.perf_counter()
    tg.execute(plan)
    print(f"  apply: {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
