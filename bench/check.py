"""Benchmark ``gen-migrate check`` with many managed tables in each embedded store.

Set-up (not timed in the check figure): a project with one generic migration of N
``create_table`` operations, applied by the deploy runner to chdb and to a SQLite Iceberg
catalog (and, with ``--dsn``, the same tables created in that Postgres database). Then, in a
fresh process each time (as CI runs it), ``run_check`` is timed from import to report, and the
introspection queries each store answered are printed; the whole CLI is timed too.

    /work/venv/bin/python bench/check.py            # 1,000 tables and 10 tables
    /work/venv/bin/python bench/check.py --tables 200 --dsn postgresql://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gen_migrate.config import load_config
from gen_migrate.deploy.runner import DeployOptions, apply
from gen_migrate.generic.files import append_to_sum, write_migration
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import Column, CreateTable, TableRef
from gen_migrate.generic.types import t

TARGETS = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'

COLUMNS = [
    Column(name="id", type=t("int64", pg="bigint"), nullable=False),
    Column(name="title", type=t("string", pg="text")),
    Column(name="weight", type=t("int32", pg="integer")),
    Column(name="created_at", type=t("timestamptz", pg="timestamp with time zone")),
    Column(name="done", type=t("bool", pg="boolean"), nullable=False),
]
PG_COLUMNS = "id bigint PRIMARY KEY, title text, weight integer, created_at timestamptz, done boolean NOT NULL"

TIMED = """
import json, sys, time
start = time.perf_counter()
from gen_migrate.config import load_config
from gen_migrate.check.runner import CheckOptions, run_check
config = load_config(cwd=__import__("pathlib").Path(sys.argv[1]))
report = run_check(config, CheckOptions(stores_only=sys.argv[2] == "stores"))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "cases": len(report.cases), "failures": len(report.failures),
                  "queries": report.queries}))
"""


def setup(root: Path, n: int, dsn: str | None) -> float:
    """Write the project and apply it; returns the seconds it took."""
    start = time.perf_counter()
    root.mkdir(parents=True)
    source = f'[source]\ndsn = "{dsn}"\n' if dsn else ""
    (root / "gen-migrate.toml").write_text(source + TARGETS)
    ops = [
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
    apply(load_config(cwd=root), DeployOptions(phase="pre"))
    if dsn:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(";".join(f"CREATE TABLE t{i:04d} ({PG_COLUMNS})" for i in range(n)))
    return time.perf_counter() - start


def timed_check(root: Path, mode: str) -> dict[str, object]:
    """``run_check`` in a fresh process: seconds (imports included), cases, queries."""
    out = subprocess.run(
        [sys.executable, "-c", TIMED, str(root), mode], capture_output=True, text=True, check=True
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10, help="second size, to show constancy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", help="also create the tables in this (empty) Postgres database")
    args = parser.parse_args()
    mode = "full" if args.dsn else "stores"
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.tables):
            dsn = args.dsn if n == args.tables else None
            root = Path(tmp) / f"n{n}"
            seconds = setup(root, n, dsn)
            print(f"{n} tables: set-up {seconds:.1f}s (not part of the check figure)")
            runs = [timed_check(root, mode if dsn else "stores") for _ in range(args.repeat)]
            times = [float(str(r["seconds"])) for r in runs]
            best = min(times)
            last = runs[-1]
            print(
                f"  run_check ({mode if dsn else 'stores'}): best {best:.2f}s of {args.repeat}"
                f" [{', '.join(f'{x:.2f}' for x in times)}],"
                f" {last['cases']} cases, {last['failures']} failing,"
                f" introspection queries {last['queries']}"
            )
            wall, code = timed_cli(root, mode if dsn else "stores")
            print(f"  gen-migrate check --json: {wall:.2f}s wall, exit {code}")


if __name__ == "__main__":
    main()
