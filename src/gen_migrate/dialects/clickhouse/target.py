"""``ClickHouseTarget``: the Target contract over chdb or a ClickHouse server."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gen_migrate.dialects.base import (
    AppliedMigration,
    MigrationPlan,
    Refusal,
    StepCallback,
    Target,
)
from gen_migrate.dialects.clickhouse.client import open_client
from gen_migrate.dialects.clickhouse.config import ClickHouseTargetConfig
from gen_migrate.dialects.clickhouse.guards import guard_holds, step_guards
from gen_migrate.dialects.clickhouse.introspect import Catalog, load_catalog
from gen_migrate.dialects.clickhouse.quoting import literal
from gen_migrate.dialects.clickhouse.state import StateStore, statements_hash
from gen_migrate.dialects.clickhouse.types import TypeMapper
from gen_migrate.errors import InputError, RefusedError, StepFailedError
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema


class ClickHouseTarget(Target):
    """A ClickHouse database managed by gen-migrate.

    ``client`` may be passed to share one open clickhouse-connect client (chdb allows one
    engine path per process); otherwise :meth:`open` connects from the config.
    """

    config: ClickHouseTargetConfig

    def __init__(
        self, name: str, config: ClickHouseTargetConfig, root: Path, client: Any = None
    ) -> None:
        super().__init__(name, config, root)
        self._client = client
        self._own_client = client is None
        self.queries = 0
        """Catalog queries issued by :meth:`plan` (introspection cost)."""
        self.insert_wait_seconds = 120.0
        """How long a wait step waits for running inserts before it fails (a rerun resumes)."""
        self._simulated: Catalog | None = None
        """The catalog as the plans made since the last execute leave it, so consecutive
        ``plan`` calls (``gen-migrate plan`` of several pending migrations) build on each other."""

    @property
    def client(self) -> Any:
        """The open clickhouse-connect client."""
        if self._client is None:
            raise InputError(f"target {self.name} is not open")
        return self._client

    @property
    def state(self) -> StateStore:
        """The state table of the configured database."""
        return StateStore(self.client, self.config.database, self.config.cluster)

    def open(self) -> None:
        """Connect (chdb or HTTP); imports clickhouse_connect here."""
        if self._client is None:
            self._client = open_client(self.config.url, self.root)
            self._own_client = True

    def close(self) -> None:
        """Close a client this target opened."""
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None

    def applied(self) -> dict[str, AppliedMigration]:
        """Recorded state: migration id → steps done."""
        return self.state.applied()

    def plan(self, migration: Migration, checksum: str, before: Schema) -> MigrationPlan:
        """The steps of ``migration`` against the live database (or the stored plan a previous,
        interrupted run started, so a rerun resumes exactly that plan)."""
        stored = self.state.stored_plan(migration.id, checksum)
        if stored is not None:
            stored.notes.append("resuming the plan stored by an earlier run")
            return stored
        catalog = self._simulated
        if catalog is None:
            catalog = load_catalog(self.client, self.config.database)
            self.queries += catalog.queries
        # sqlglot (view rewriting) loads only when something is planned, not for check
        from gen_migrate.dialects.clickhouse.translate import plan_migration

        planned = plan_migration(self.config, catalog, migration, checksum, before)
        self._simulated = catalog
        if catalog.lazy_tables:
            planned = _refuse_mutations(planned, self.config.database)
        return planned

    def execute(self, plan: MigrationPlan, on_step: StepCallback | None = None) -> None:
        """Run the plan's steps in order; skip recorded and guard-satisfied ones; record each."""
        self._simulated = None
        if plan.refusals:
            raise RefusedError(
                f"{plan.migration_id}: refused on target {self.name}",
                detail="\n".join(str(r) for r in plan.refusals),
            )
        state = self.state
        try:
            state.ensure()
        except Exception as exc:
            raise StepFailedError(f"target {self.name}: cannot create state table: {exc}") from None
        recorded = state.applied().get(plan.migration_id)
        if recorded is not None and recorded.checksum != plan.checksum:
            raise InputError(
                f"{plan.migration_id}: applied on target {self.name} with checksum "
                f"{recorded.checksum[:12]}, the file now has {plan.checksum[:12]}"
            )
        if state.stored_plan(plan.migration_id, plan.checksum) is None:
            state.record_plan(plan)
        done = recorded.steps_done if recorded else set()
        for step in plan.steps:
            if step.index in done:
                if on_step:
                    on_step(step, "skipped")
                continue
            guards = step_guards(step.payload, len(step.statements))
            pending = [
                sql
                for sql, guard in zip(step.statements, guards, strict=False)
                if guard.kind == "never"
                or not guard_holds(self.client, self.config.database, guard)
            ]
            if not pending:
                state.record(plan, step.index, statements_hash(step))
                if on_step:
                    on_step(step, "skipped")
                continue
            if on_step:
                on_step(step, "start")
            self._run(plan, step.index, step.title, pending)
            state.record(plan, step.index, statements_hash(step))
            if on_step:
                on_step(step, "done")

    def _run(self, plan: MigrationPlan, index: int, title: str, statements: list[str]) -> None:
        from gen_migrate.dialects.clickhouse.translate import INSERTS_RUNNING

        where = f"{plan.migration_id} step {index} ({title}) on target {self.name}"
        for sql in statements:
            try:
                if sql.startswith(INSERTS_RUNNING):
                    self._wait_for_inserts(where, sql)
                elif sql.startswith("SELECT count()"):
                    bad = int(self.client.query(sql).result_rows[0][0])
                    if bad:
                        raise StepFailedError(
                            f"{where}: {bad} values do not convert; nothing changed"
                        )
                else:
                    self.client.command(sql)
            except StepFailedError:
                raise
            except Exception as exc:
                raise StepFailedError(f"{where} failed: {exc}", detail=sql) from None

    def _wait_for_inserts(self, where: str, sql: str) -> None:
        """Poll ``sql`` (running inserts) until none of those it first lists is running."""
        import time

        running = {str(r[0]) for r in self.client.query(sql).result_rows}
        deadline = time.monotonic() + self.insert_wait_seconds
        while running:
            if time.monotonic() > deadline:
                raise StepFailedError(
                    f"{where}: {len(running)} inserts still running after "
                    f"{self.insert_wait_seconds:.0f} s; rerun to resume",
                    detail=sql,
                )
            time.sleep(0.005)
            running &= {str(r[0]) for r in self.client.query(sql).result_rows}

    def _names(self, tables: Sequence[TableRef]) -> dict[str, TableRef]:
        return {self.config.table_name(ref): ref for ref in tables}

    def live_columns(self, tables: Sequence[TableRef]) -> dict[TableRef, dict[str, str]]:
        """Native column types per source table, pipeline columns left out (one query)."""
        names = self._names(tables)
        if not names:
            return {}
        listed = ", ".join(literal(n) for n in names)
        rows = self.client.query(
            f"SELECT table, name, type FROM system.columns WHERE database = "
            f"{literal(self.config.database)} AND table IN ({listed}) ORDER BY table, position"
        ).result_rows
        found: dict[TableRef, dict[str, str]] = {}
        for table, column, ctype in rows:
            cols = found.setdefault(names[table], {})
            if column not in self.config.pipeline_columns:
                cols[column] = ctype
        return found

    def expected_columns(
        self, schema: Schema, tables: Sequence[TableRef]
    ) -> dict[TableRef, dict[str, str]]:
        """Native column types ``schema`` maps to, same shape as :meth:`live_columns`."""
        c = self.config
        mapper = TypeMapper(c.type_map, dict(c.type_overrides), c.nullable)
        found: dict[TableRef, dict[str, str]] = {}
        for ref in tables:
            ts = schema.tables.get(ref)
            if ts is None:
                continue
            found[ref] = {
                col.name: mapper.column(
                    col.type, col.nullable and col.name not in ts.primary_key
                ).type
                for col in ts.columns.values()
            }
        return found


_QUOTED = r"`(?:[^`\\]|\\.)*`"
_MUTATION = re.compile(
    rf"^ALTER TABLE {_QUOTED}\.({_QUOTED})(?: ON CLUSTER {_QUOTED})? (UPDATE|DELETE|MATERIALIZE)\b"
)


def _refuse_mutations(plan: MigrationPlan, database: str) -> MigrationPlan:
    """The plan, or no steps and a refusal per mutation when ``database`` loads its tables
    lazily: ClickHouse refuses mutations there, so such a plan would stop half-way."""
    found = [
        Refusal(
            plan.migration_id,
            m.group(1).strip("`"),
            None,
            f"{step.title}: needs an {m.group(2)} mutation, which ClickHouse refuses on a table "
            f"of database {database} (created with lazy_load_tables = 1); run this migration on "
            "a database without that setting",
        )
        for step in plan.steps
        for sql in step.statements
        if (m := _MUTATION.match(sql))
    ]
    if not found:
        return plan
    return MigrationPlan(plan.migration_id, plan.checksum, [], plan.refusals + found, plan.notes)
