"""Renaming a column views read, under a concurrent writer: failed inserts, lost rows and rows
whose value did not reach the views, for the in-place sequence (RENAME COLUMN, then MODIFY QUERY
per view, back to back: the previous plan) and the plan's copy sequence (ADD ... DEFAULT old,
MODIFY QUERY per view, MATERIALIZE, REMOVE DEFAULT, DROP old).

    /work/venv/bin/python bench/clickhouse_rename_writer.py [runs]

The writer sends each row as JSON under the Postgres names of before the rename and lets the
server keep the columns the table has (``input_format_skip_unknown_fields``), like the
consumer's column filter, so it never names a column that is gone. "late" counts rows written
after the old name stopped feeding the new one (the consumer's business until Postgres renames).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from clickhouse_helpers import load_layout, migration, target  # noqa: E402
from gen_migrate.dialects.clickhouse.quoting import ident  # noqa: E402
from gen_migrate.dialects.clickhouse.views import ViewQuery  # noqa: E402
from gen_migrate.generic.schema import Schema  # noqa: E402

TARGETS = ("items_mirror", "items_all", "open_items")
errors: list[str] = []


def in_place(client: Any, db: str) -> list[str]:
    """The previous plan for title -> name: RENAME COLUMN, then each reader's MODIFY QUERY."""
    views = client.query(
        "SELECT name, as_select FROM system.tables WHERE database = {d:String} "
        "AND engine = 'MaterializedView'",
        parameters={"d": db},
    ).result_rows
    sql = [f"ALTER TABLE {ident(db)}.siphon_items RENAME COLUMN title TO name"]
    for name, query in views:
        vq = ViewQuery(query, "siphon_items", db)
        if vq.use("title").reads:
            sql.append(
                f"ALTER TABLE {ident(db)}.{ident(name)} MODIFY QUERY {vq.renamed('title', 'name')}"
            )
    return sql


def run(path: str, client: Any, kind: str, k: int) -> dict[str, float]:
    import clickhouse_connect

    db = f"bench_{kind}_{k}"
    load_layout(client, db)
    writer = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    stop = threading.Event()
    sent: list[int] = []
    failed: list[int] = []
    cut: list[int] = []

    def write() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            row = {"id": i, "title": f"t{i}", "body": "b", "state": "open", "qty": 1}
            try:
                writer.command(
                    f"INSERT INTO {ident(db)}.siphon_items SETTINGS "
                    f"input_format_skip_unknown_fields = 1 FORMAT JSONEachRow {json.dumps(row)}"
                )
                sent.append(i)
            except Exception as exc:
                failed.append(i)
                errors.append(str(exc).splitlines()[0][-200:])

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.2)
    start = time.perf_counter()
    if kind == "in_place":
        statements = in_place(client, db)
        cut.append(len(sent))  # the first statement already stops title feeding the views
        for sql in statements:
            client.command(sql)
    else:
        tg = target(client, db, Path(path))
        mig = migration("008_rename_column")

        def on_step(step: Any, event: str) -> None:
            if event == "start" and step.title.startswith("remove the DEFAULT"):
                cut.append(len(sent))

        tg.execute(tg.plan(mig, mig.checksum(), Schema()), on_step)
    elapsed = time.perf_counter() - start
    time.sleep(0.2)
    stop.set()
    thread.join()
    writer.close()
    lost = wrong = late = 0
    for table in TARGETS:
        rows = dict(client.query(f"SELECT id, title FROM {ident(db)}.{table} FINAL").result_rows)
        lost += sum(1 for i in sent if i not in rows)
        wrong += sum(1 for i in sent if i <= cut[0] and rows.get(i) not in (None, f"t{i}"))
        late += sum(1 for i in sent if i > cut[0] and rows.get(i) == "")
    return {
        "inserts": len(sent) + len(failed),
        "failed": len(failed),
        "lost": lost,
        "wrong": wrong,
        "late": late,
        "ms": elapsed * 1000,
    }


def main() -> None:
    import clickhouse_connect

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/chdb"
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        print(f"{runs} runs each; lost/wrong/late are summed over {len(TARGETS)} view targets")
        print(
            f"{'sequence':10} {'inserts':>8} {'failed':>7} {'lost':>5} {'wrong':>6} "
            f"{'late':>5} {'apply ms':>9}"
        )
        for kind in ("in_place", "copy"):
            totals: dict[str, float] = {}
            for k in range(runs):
                for key, value in run(path, client, kind, k).items():
                    totals[key] = totals.get(key, 0) + value
            if errors:
                print("  first errors:", *sorted(set(errors))[:3], sep="\n    ")
                errors.clear()
            print(
                f"{kind:10} {totals['inserts']:8.0f} {totals['failed']:7.0f} "
                f"{totals['lost']:5.0f} {totals['wrong']:6.0f} {totals['late']:5.0f} "
                f"{totals['ms'] / runs:9.1f}"
            )
        client.close()


if __name__ == "__main__":
    main()
