"""Postgres as a target: each generic file's captured source statements, run in one transaction
together with the row that records them, so a crash leaves the migration either run or not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gen_migrate.dialects.base import (
    AppliedMigration,
    MigrationPlan,
    Refusal,
    Step,
    StepCallback,
    Target,
)
from gen_migrate.dialects.postgres.state import CREATE_STATE, INSERT_STEP, read_state
from gen_migrate.dialects.postgres.types import pg_type
from gen_migrate.errors import InputError, StepFailedError
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema

if TYPE_CHECKING:
    import psycopg

# Statements Postgres refuses inside a transaction block.
_NO_TRANSACTION = re.compile(
    r"^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|"
    r"(CREATE|DROP|REINDEX)\b[^;]*\bCONCURRENTLY\b)",
    re.IGNORECASE,
)

_LIVE_COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
  AND (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY n.nspname, c.relname, a.attnum
"""


class PostgresTarget(Target):
    """Runs ``source.statements`` of each generic file against a Postgres database.

    ``config.dsn`` names the database; the deploy runner fills it from ``[source] dsn`` when the
    target leaves it unset. State lives in ``public.gen_migrate_migrations``.
    """

    def __init__(self, name: str, config: Any, root: Path) -> None:
        super().__init__(name, config, root)
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    @property
    def conn(self) -> psycopg.Connection[tuple[Any, ...]]:
        """The open connection (after :meth:`open`)."""
        if self._conn is None:
            raise RuntimeError(f"target {self.name} is not open")
        return self._conn

    def open(self) -> None:
        """Connect in autocommit mode; every step opens its own transaction."""
        import psycopg

        dsn = self.config.dsn
        if not dsn:
            raise InputError(f"target {self.name}: no dsn, and no [source] dsn to default to")
        try:
            self._conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise StepFailedError(
                f"target {self.name}: cannot connect: {_first_line(exc)}"
            ) from None

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def applied(self) -> dict[str, AppliedMigration]:
        """Rows of ``gen_migrate_migrations`` for this target."""
        return read_state(self.conn, self.name)

    def plan(self, migration: Migration, checksum: str, before: Schema) -> MigrationPlan:
        """One step: all statements of the file in one transaction with its state row."""
        statements = list(migration.source.statements)
        plan = MigrationPlan(migration.id, checksum)
        for stmt in statements:
            if _NO_TRANSACTION.match(stmt):
                plan.refusals.append(
                    Refusal(
                        migration.id,
                        migration.source.file or migration.id,
                        None,
                        f"cannot run inside a transaction: {_first_line(stmt)}",
                    )
                )
        title = (
            f"run {len(statements)} statement(s) of {migration.source.framework} "
            f"{migration.source.version}"
            if statements
            else "record only (no statements)"
        )
        plan.steps.append(
            Step(
                migration_id=migration.id,
                index=0,
                title=title,
                statements=statements,
                note="one transaction together with its state row",
                guard=f"row ({self.name}, {migration.id}, 0) in gen_migrate_migrations",
            )
        )
        return plan

    def execute(self, plan: MigrationPlan, on_step: StepCallback | None = None) -> None:
        """Run each step not yet recorded, recording it in the same transaction."""
        import psycopg

        conn = self.conn
        conn.execute(CREATE_STATE)
        last = len(plan.steps) - 1
        for pos, step in enumerate(plan.steps):
            with conn.transaction():
                done = conn.execute(
                    "SELECT 1 FROM public.gen_migrate_migrations "
                    "WHERE target = %s AND migration_id = %s AND step = %s FOR UPDATE",
                    (self.name, step.migration_id, step.index),
                ).fetchone()
                if done is not None:
                    if on_step:
                        on_step(step, "skipped")
                    continue
                if on_step:
                    on_step(step, "start")
                for i, stmt in enumerate(step.statements, 1):
                    try:
                        conn.execute(stmt.encode())
                    except psycopg.Error as exc:
                        raise StepFailedError(
                            f"target {self.name}: migration {step.migration_id}: statement {i}: "
                            f"{_first_line(exc)}",
                            detail=stmt,
                        ) from None
                conn.execute(
                    INSERT_STEP,
                    (self.name, step.migration_id, step.index, plan.checksum, pos == last),
                )
            if on_step:
                on_step(step, "done")

    def live_columns(self, tables: Sequence[TableRef]) -> dict[TableRef, dict[str, str]]:
        """``format_type`` of every column of the given tables, in one catalog query."""
        rows = self.conn.execute(
            _LIVE_COLUMNS, ([t.schema for t in tables], [t.name for t in tables])
        ).fetchall()
        out: dict[TableRef, dict[str, str]] = {}
        for schema, table, column, type_ in rows:
            out.setdefault(TableRef(schema=schema, name=table), {})[str(column)] = str(type_)
        return out

    def expected_columns(
        self, schema: Schema, tables: Sequence[TableRef]
    ) -> dict[TableRef, dict[str, str]]:
        """The ``format_type`` spelling of every column the generic schema gives the tables."""
        out: dict[TableRef, dict[str, str]] = {}
        for ref in tables:
            ts = schema.tables.get(ref)
            if ts is not None:
                out[ref] = {c.name: pg_type(c.type) for c in ts.columns.values()}
        return out


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
