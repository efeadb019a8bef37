"""Benchmark ``gen-migrate check`` with many managed tables in each embedded store.

Set-up (not timed in the check figure): a project with one generic migration of N
``create_table`` operations, applied by the deploy runner to chdb and to a SQLite Iceberg
catalog (and, with ``--pg``, the same tables created in a throwaway Postgres database). Then, in a
fresh process each time (as CI runs it), ``run_check`` is timed from import to report, and the
introspection queries each store answered are printed; the whole CLI is timed too.

    /work/venv/bin/python bench/check.py          # 1,000 and 10 tables, eager and lazy chdb
    /work/venv/bin/python bench/check.py --pg     # plus Postgres and the full check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gen_migrate.config import load_config
from gen_migrate.dialects.registry import make_target
from gen_migrate.generic.files import append_to_sum, write_migration
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import Column, CreateTable, Operation, TableRef
from gen_migrate.generic.schema import Schema
from gen_migrate.generic.types import t

TARGETS = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'
LAZY_DATABASE = 'database = "siphon"\n'
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

COLUMNS = [
    Column(name="id", type=t("int64", pg="bigint"), nullable=False),
    Column(name="title", type=t("string", pg="text")),
    Column(name="weight", type=t("int32", pg="integer")),
    Column(name="created_at", type=t("timestamptz", pg="timestamp with time zone")),
    Column(name="done", type=t("bool", pg="boolean"), nullable=False),
]
PG_COLUMNS = (
    "id bigint PRIMARY KEY, title text, weight integer, created_at timestamptz,"
    " done boolean NOT NULL"
)

TIMED = """
import json, sys, time
start, cpu = time.perf_counter(), time.process_time()
from gen_migrate.config import load_config
from gen_migrate.check.runner import CheckOptions, run_check
config = load_config(cwd=__import__("pathlib").Path(sys.argv[1]))
targets = sys.argv[3].split(",") if len(sys.argv) > 3 else ()
report = run_check(config, CheckOptions(targets=targets, stores_only=sys.argv[2] == "stores"))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "cases": len(report.cases),
                  "failures": len(report.failures), "queries": report.queries,
                  "parts": report.seconds}))
"""


def _iceberg_schema() -> Any:
    from pyiceberg.schema import Schema as IcebergSchema
    from pyiceberg.types import (
        BooleanType,
        IntegerType,
        LongType,
        NestedField,
        StringType,
        TimestamptzType,
    )

    return IcebergSchema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "title", StringType(), required=False),
        NestedField(3, "weight", IntegerType(), required=False),
        NestedField(4, "created_at", TimestamptzType(), required=False),
        NestedField(5, "done", BooleanType(), required=True),
        identifier_field_ids=[1],
    )


def setup(root: Path, n: int, dsn: str | None, lazy: bool = False) -> float:
    """Write the project and create its tables in every store; returns the seconds it took.

    The ClickHouse statements are the ones the dialect plans for the migration, run directly
    (no per-step state rows); the Iceberg tables are created with pyiceberg. So the stores
    hold no applied-migration state: the check's integrity part has nothing to compare.
    With ``lazy`` the ClickHouse tables live in a database created first as ``Atomic`` with
    ``lazy_load_tables = 1`` (chdb's ``default`` database is an ``Overlay`` that takes no
    settings), so opening chdb does not load every table.
    """
    start = time.perf_counter()
    root.mkdir(parents=True)
    source = f'[source]\ndsn = "{dsn}"\n' if dsn else ""
    targets = (
        TARGETS.replace("[targets.lake]", LAZY_DATABASE + "[targets.lake]") if lazy else TARGETS
    )
    (root / "gen-migrate.toml").write_text(source + targets)
    ops: list[Operation] = [
        CreateTable(table=TableRef(name=f"t{i:04d}"), columns=COLUMNS, primary_key=["id"])
        for i in range(n)
    ]
    migration = Migration(
        id="0001_create_tables",
        phase="pre",
        source=Source(framework="sql", version="0001", statements=[]),
        operations=ops,
    )
    directory = root / "generic_migrations"
    append_to_sum(directory, [write_migration(directory, migration).name])
    config = load_config(cwd=root)
    with make_target("ch", config.targets["ch"], root) as ch:
        client: Any = ch.client  # type: ignore[attr-defined]
        if lazy:
            client.command(
                "CREATE DATABASE IF NOT EXISTS siphon ENGINE = Atomic SETTINGS lazy_load_tables = 1"
            )
        plan = ch.plan(migration, "-", Schema())
        for step in plan.steps:
            for sql in step.statements:
                client.command(sql)
    with make_target("lake", config.targets["lake"], root) as lake:
        catalog: Any = lake.catalog  # type: ignore[attr-defined]
        schema = _iceberg_schema()
        for i in range(n):
            catalog.create_table(f"default.t{i:04d}", schema=schema)
    if dsn:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(";".join(f"CREATE TABLE t{i:04d} ({PG_COLUMNS})" for i in range(n)))
    return time.perf_counter() - start


def timed_check(root: Path, mode: str, only: str | None = None) -> dict[str, object]:
    """``run_check`` in a fresh process (only target ``only`` when given): seconds (imports
    included), cases, queries."""
    args = [sys.executable, "-c", TIMED, str(root), mode, *([only] if only else [])]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def timed_cli(root: Path, mode: str) -> tuple[float, int]:
    """Wall seconds and exit code of ``gen-migrate check`` (interpreter start included)."""
    args = [sys.executable, "-m", "gen_migrate", "check", "--json"]
    if mode == "stores":
        args.append("--stores-only")
    start = time.perf_counter()
    done = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode


def report(root: Path, mode: str, repeat: int) -> None:
    """Time ``run_check`` ``repeat`` times, the CLI once, then each store alone (chdb holds the
    GIL while it opens, so the stores' reads overlap little); print the figures."""
    runs = [timed_check(root, mode) for _ in range(repeat)]
    times = [float(str(r["seconds"])) for r in runs]
    cpu = [float(str(r["cpu"])) for r in runs]
    last = runs[-1]
    print(
        f"  run_check ({mode}): best {min(times):.2f}s wall / {min(cpu):.2f}s CPU of {repeat}"
        f" [{', '.join(f'{x:.2f}' for x in times)}],"
        f" {last['cases']} cases, {last['failures']} failing,"
        f" introspection queries {last['queries']}"
    )
    parts = last["parts"] if isinstance(last["parts"], dict) else {}
    print("  last run by part (s): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    cli = [timed_cli(root, mode) for _ in range(repeat)]
    walls = sorted(w for w, _ in cli)
    print(
        f"  gen-migrate check --json: best {walls[0]:.2f}s, median {walls[len(walls) // 2]:.2f}s"
        f" wall of {repeat} [{', '.join(f'{w:.2f}' for w, _ in cli)}],"
        f" exit {sorted({c for _, c in cli})}"
    )
    for name in ("ch", "lake"):
        alone = [timed_check(root, mode, name) for _ in range(repeat)]
        best = min(alone, key=lambda r: float(str(r["seconds"])))
        print(
            f"  {name} alone: best {float(str(best['seconds'])):.2f}s wall /"
            f" {float(str(best['cpu'])):.2f}s CPU of {repeat}"
        )


@contextmanager
def throwaway_database(admin_dsn: str | None) -> Iterator[str | None]:
    """A new empty Postgres database on the server of ``admin_dsn`` (dropped afterwards), or
    None without one."""
    if not admin_dsn:
        yield None
        return
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"gm_bench_check_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        params = conninfo_to_dict(admin_dsn)
        params["dbname"] = name
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10, help="second size, to show constancy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pg",
        nargs="?",
        const=os.environ.get("GEN_MIGRATE_TEST_PG_DSN", DEFAULT_PG),
        help="also create the tables in a throwaway database on this Postgres server "
        f"(default {DEFAULT_PG}) and time the full check",
    )
    parser.add_argument(
        "--layouts",
        default="eager,lazy",
        help="ClickHouse databases to time: eager (chdb's default database) and/or lazy "
        "(an Atomic database with lazy_load_tables = 1)",
    )
    args = parser.parse_args()
    layouts = [x.strip() for x in args.layouts.split(",") if x.strip()]
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(args.pg) as dsn:
        for layout in layouts:
            for n in (args.small, args.tables):
                with_pg = dsn if n == args.tables and layout == layouts[0] else None
                root = Path(tmp) / f"{layout}{n}"
                seconds = setup(root, n, with_pg, layout == "lazy")
                print(
                    f"{n} tables, ClickHouse database {layout}: set-up {seconds:.1f}s "
                    "(not part of the check figure)"
                )
                for m in ("stores", "full") if with_pg else ("stores",):
                    report(root, m, args.repeat)
                load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
                print(f"  load average {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
