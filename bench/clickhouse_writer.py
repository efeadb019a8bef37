"""Rows lost while views are replaced under concurrent writers: the planner's temp-view route,
and the engine's ``EXCHANGE TABLES`` that the route avoids.

    /work/venv/bin/python bench/clickhouse_writer.py [--cycles 400] [--writers 2] [--no-wait]
    /work/venv/bin/python bench/clickhouse_writer.py --engine-exchange 3000

A ReplacingMergeTree source with an explicit-list view into a ReplacingMergeTree target; writer
threads insert one JSON row at a time (unknown fields skipped, as the Siphon consumer does)
while the main thread applies, ``--cycles`` times, a generic ``drop_column`` and then an
``add_column`` of the same column with ``mv_strategy = "exchange"``: each replaces the view
through a temp view (create temp, wait, drop, create again, wait, drop temp). At the end every
row sent must be in the target. ``--no-wait`` plans the same migrations without the
wait-for-inserts steps, to show what they are for.

``--engine-exchange N`` measures the engine alone: two views with the same query and target,
``EXCHANGE TABLES`` of the two N times in a row while the writers insert; a row that reached
neither view is lost (each should arrive twice). Losses are rare events, so this is a benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from clickhouse_helpers import target  # noqa: E402
from gen_migrate.generic.migration import Migration, Source  # noqa: E402
from gen_migrate.generic.operations import AddColumn, Column, DropColumn, TableRef  # noqa: E402
from gen_migrate.generic.schema import Schema  # noqa: E402
from gen_migrate.generic.types import GenericType  # noqa: E402

DB = "bench_writer"
QUERY = f"SELECT id, title, c, _siphon_replicated_at, _siphon_deleted FROM {DB}.siphon_items"
LAYOUT = [
    f"CREATE DATABASE {DB} ENGINE = Atomic",
    f"CREATE TABLE {DB}.siphon_items (id Int64, title String, c Nullable(Int32), "
    "_siphon_replicated_at DateTime64(6, 'UTC') DEFAULT now64(6, 'UTC'), "
    "_siphon_deleted Bool DEFAULT false) "
    "ENGINE = ReplacingMergeTree(_siphon_replicated_at, _siphon_deleted) ORDER BY id",
    f"CREATE TABLE {DB}.items (id Int64, title String, c Nullable(Int32), "
    "_siphon_replicated_at DateTime64(6, 'UTC'), _siphon_deleted Bool) "
    "ENGINE = ReplacingMergeTree(_siphon_replicated_at, _siphon_deleted) ORDER BY id",
    f"CREATE MATERIALIZED VIEW {DB}.items_mv TO {DB}.items AS {QUERY}",
]


def migrations(cycle: int) -> list[Migration]:
    """Drop ``c`` (its view is rewritten without it), then add it back (passed through)."""
    items = TableRef(name="items")
    src = Source(framework="sql", version=str(cycle))
    return [
        Migration(
            id=f"{cycle:05d}_drop", source=src, operations=[DropColumn(table=items, column="c")]
        ),
        Migration(
            id=f"{cycle:05d}_add",
            source=src,
            operations=[
                AddColumn(table=items, column=Column(name="c", type=GenericType(kind="int32")))
            ],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=400)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--no-wait", action="store_true", help="plan without the waits")
    parser.add_argument(
        "--engine-exchange", type=int, default=0, metavar="N", help="raw EXCHANGE TABLES N times"
    )
    args = parser.parse_args()

    import clickhouse_connect

    from gen_migrate.dialects.clickhouse import translate

    if args.no_wait:
        translate.Planner.settle = lambda self, *a, **k: None  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as tmp:
        dsn = f"chdb://{tmp}/chdb"
        client = clickhouse_connect.get_client(dsn=dsn)
        for sql in LAYOUT:
            client.command(sql)
        writers = [clickhouse_connect.get_client(dsn=dsn) for _ in range(args.writers)]
        ids = itertools.count(1)
        stop = threading.Event()
        sent: list[int] = []
        failed: list[str] = []

        def write(writer: Any) -> None:
            while not stop.is_set():
                i = next(ids)
                row = json.dumps({"id": i, "title": f"t{i}", "c": i})
                try:
                    writer.command(
                        f"INSERT INTO {DB}.siphon_items SETTINGS "
                        f"input_format_skip_unknown_fields = 1 FORMAT JSONEachRow {row}"
                    )
                    sent.append(i)
                except Exception as exc:
                    failed.append(str(exc)[:160])

        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        replaced = 0
        try:
            if args.engine_exchange:
                client.command(f"CREATE MATERIALIZED VIEW {DB}.items_mv2 TO {DB}.items AS {QUERY}")
                for _ in range(args.engine_exchange):
                    client.command(f"EXCHANGE TABLES {DB}.items_mv AND {DB}.items_mv2")
            else:
                for cycle in range(args.cycles):
                    for mig in migrations(cycle):
                        tg = target(client, DB, Path(tmp), mv_strategy="exchange")
                        plan = tg.plan(mig, mig.checksum(), Schema())
                        assert not plan.refusals, plan.refusals
                        replaced += sum(s.title.startswith("create temp view") for s in plan.steps)
                        tg.execute(plan)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        seconds = time.perf_counter() - started
        landed = {r[0] for r in client.query(f"SELECT DISTINCT id FROM {DB}.items").result_rows}
        lost = sorted(set(sent) - landed)
        if args.engine_exchange:
            what = f"engine: {args.engine_exchange} EXCHANGE TABLES of two views"
        else:
            waits = "without" if args.no_wait else "with"
            what = (
                f"planner ({waits} the waits): {args.cycles} cycles, {replaced} view replacements"
            )
        print(
            f"{what}, {len(sent)} rows sent by {args.writers} writers in {seconds:.1f} s, "
            f"{len(failed)} inserts failed, {len(lost)} rows lost {lost[:10]}"
        )
        if failed:
            print("first failure:", failed[0])


if __name__ == "__main__":
    main()
