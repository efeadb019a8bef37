"""Applied state in ``<database>.gen_migrate_migrations``: one row per finished step, plus one
row per migration (step -1) holding the plan it started with, so a rerun resumes that plan."""

from __future__ import annotations

import hashlib
import json
import socket
from typing import Any

from gen_migrate.dialects.base import AppliedMigration, MigrationPlan, Step
from gen_migrate.dialects.clickhouse.guards import Guard
from gen_migrate.dialects.clickhouse.quoting import ident, literal, on_cluster, qualified

STATE_TABLE = "gen_migrate_migrations"
PLAN_ROW = -1


def statements_hash(step: Step) -> str:
    """sha256 of a step's statements."""
    return hashlib.sha256("\n;\n".join(step.statements).encode()).hexdigest()


class StateStore:
    """Reads and writes the state table of one database."""

    def __init__(self, client: Any, database: str, cluster: str | None) -> None:
        self.client = client
        self.database = database
        self.cluster = cluster
        self.table = qualified(database, STATE_TABLE)

    def ddl(self) -> list[str]:
        """Statements creating the database (Atomic) and the state table when missing
        (replicated, ON CLUSTER, when a cluster is configured)."""
        cl = on_cluster(self.cluster)
        engine = (
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/gen_migrate_migrations', "
            "'{replica}')"
            if self.cluster
            else "MergeTree"
        )
        return [
            f"CREATE DATABASE IF NOT EXISTS {ident(self.database)}{cl} ENGINE = Atomic",
            f"CREATE TABLE IF NOT EXISTS {self.table}{cl} (migration_id String, checksum String, "
            "step Int32, steps UInt32, statements_hash String, finished_at DateTime64(3, 'UTC'), "
            f"host String, plan String) ENGINE = {engine} ORDER BY (migration_id, step)",
        ]

    def ensure(self) -> None:
        """Run :meth:`ddl`."""
        for sql in self.ddl():
            self.client.command(sql)

    def exists(self) -> bool:
        """True when the state table exists."""
        rows = self.client.query(
            f"SELECT count() FROM system.tables WHERE database = {literal(self.database)} "
            f"AND name = {literal(STATE_TABLE)}"
        ).result_rows
        return bool(rows[0][0])

    def applied(self) -> dict[str, AppliedMigration]:
        """Migration id → recorded steps (complete when every planned step is recorded)."""
        if not self.exists():
            return {}
        rows = self.client.query(
            f"SELECT migration_id, checksum, step, steps FROM {self.table} "
            "ORDER BY migration_id, step"
        ).result_rows
        found: dict[str, AppliedMigration] = {}
        totals: dict[str, int] = {}
        for mid, checksum, step, steps in rows:
            entry = found.setdefault(mid, AppliedMigration(mid, checksum))
            totals[mid] = int(steps)
            if step != PLAN_ROW:
                entry.steps_done.add(int(step))
        for mid, entry in found.items():
            entry.complete = len(entry.steps_done) >= totals[mid]
        return found

    def stored_plan(self, migration_id: str, checksum: str) -> MigrationPlan | None:
        """The plan a previous run started, if it was for the same checksum."""
        if not self.exists():
            return None
        rows = self.client.query(
            f"SELECT plan FROM {self.table} WHERE migration_id = {literal(migration_id)} "
            f"AND checksum = {literal(checksum)} AND step = {PLAN_ROW} LIMIT 1"
        ).result_rows
        if not rows:
            return None
        data = json.loads(rows[0][0])
        steps = [
            Step(
                migration_id=migration_id,
                index=s["index"],
                title=s["title"],
                statements=s["statements"],
                note=s["note"],
                guard=s["guard"],
                payload=[Guard.from_dict(g) for g in s["payload"]]
                if isinstance(s["payload"], list)
                else Guard.from_dict(s["payload"]),
            )
            for s in data["steps"]
        ]
        return MigrationPlan(migration_id, checksum, steps, [], list(data["notes"]))

    def record(self, plan: MigrationPlan, step: int, digest: str, text: str = "") -> None:
        """Insert one row (a finished step, or the plan row)."""
        host = socket.gethostname()
        self.client.command(
            f"INSERT INTO {self.table} VALUES ({literal(plan.migration_id)}, "
            f"{literal(plan.checksum)}, {step}, {len(plan.steps)}, {literal(digest)}, "
            f"now64(3, 'UTC'), {literal(host)}, {literal(text)})"
        )

    def record_plan(self, plan: MigrationPlan) -> None:
        """Store the plan (statements and guards) before its first step runs."""
        data = {
            "steps": [{**s.to_dict(), "payload": _payload(s.payload)} for s in plan.steps],
            "notes": plan.notes,
        }
        self.record(plan, PLAN_ROW, "", json.dumps(data, sort_keys=True))


def _payload(payload: Any) -> Any:
    if isinstance(payload, list):
        return [g.to_dict() for g in payload]
    return payload.to_dict() if isinstance(payload, Guard) else {"kind": "never"}
