"""Iceberg target: cost of plan, execute (per step, per rerun) and of the introspection calls as
the number of tables grows, on the embedded SQLite catalog (and the Postgres-backed SQL catalog
when GEN_MIGRATE_TEST_PG_DSN / the local server is reachable).

    /work/venv/bin/python bench/iceberg_apply.py [TABLES]

"queries" are the SQL statements the catalog database received (SQLAlchemy events), "files" the
metadata files read; both are counted, not estimated.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from conftest import create_database, drop_database, dsn_for  # noqa: E402
from gen_migrate.dialects.iceberg.target import IcebergTarget  # noqa: E402
from gen_migrate.generic.operations import TableRef  # noqa: E402
from gen_migrate.generic.schema import Schema  # noqa: E402
from test_iceberg_support import catalog_config, migration  # noqa: E402


def _col(name: str, kind: str, nullable: bool = True) -> dict[str, Any]:
    return {"name": name, "type": {"kind": kind}, "nullable": nullable}


def _history(tables: int) -> list[Any]:
    creates = [
        {
            "op": "create_table",
            "table": {"name": f"t{i:03d}"},
            "columns": [_col("id", "int64", False), _col("a", "string"), _col("n", "int32")],
            "primary_key": ["id"],
        }
        for i in range(tables)
    ]
    evolve = []
    for i in range(tables):
        ref = {"name": f"t{i:03d}"}
        evolve += [
            {"op": "add_column", "table": ref, "column": _col("b", "string")},
            {"op": "swap_columns", "table": ref, "a": "a", "b": "b"},
            {
                "op": "alter_column_type",
                "table": ref,
                "column": "n",
                "new_type": {"kind": "int64"},
                "safety": "widening",
            },
        ]
    return [migration("001_create", creates), migration("002_evolve", evolve)]


class _Counter:
    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.queries = 0
        event.listen(engine, "before_cursor_execute", self._hit)

    def _hit(self, *_: Any) -> None:
        self.queries += 1


def run(kind: str, root: Path, dsn: str | None, tables: int) -> None:
    target = IcebergTarget("ice", catalog_config(kind, root, dsn), root)
    with target:
        counter = _Counter(target.catalog.engine)
        history = _history(tables)
        schema = Schema()
        for m in history:
            t0 = time.perf_counter()
            plan = target.plan(m, m.checksum(), schema)
            t_plan = time.perf_counter() - t0
            q0 = counter.queries
            t0 = time.perf_counter()
            target.execute(plan)
            t_exec = time.perf_counter() - t0
            steps = len(plan.steps)
            print(
                f"{kind:8} {m.id:12} steps={steps:4} plan={t_plan * 1e3:7.1f} ms "
                f"execute={t_exec:6.2f} s ({t_exec / steps * 1e3:6.1f} ms/step, "
                f"{(counter.queries - q0) / steps:5.1f} queries/step)"
            )
            schema.apply_all(m.operations)
        t0 = time.perf_counter()
        rerun = _history(tables)
        s = Schema()
        for m in rerun:
            target.execute(target.plan(m, m.checksum(), s))
            s.apply_all(m.operations)
        print(f"{kind:8} rerun (all recorded) {time.perf_counter() - t0:6.2f} s")
        refs = [TableRef(name=f"t{i:03d}") for i in range(tables)]
        for label, call in (
            ("applied()", target.applied),
            ("live_columns()", lambda: target.live_columns(refs)),
        ):
            q0 = counter.queries
            t0 = time.perf_counter()
            call()
            print(
                f"{kind:8} {label:15} tables={tables:4} {(time.perf_counter() - t0) * 1e3:7.1f} ms "
                f"queries={counter.queries - q0}"
            )


def main() -> None:
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", Path(tmp), None, tables)
    try:
        name = create_database("gm_bench")
    except Exception as exc:
        print(f"postgres: skipped ({exc})")
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run("postgres", Path(tmp), dsn_for(name), tables)
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
