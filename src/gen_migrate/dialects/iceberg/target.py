"""The Iceberg :class:`~gen_migrate.dialects.base.Target`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen_migrate.dialects.base import (
    AppliedMigration,
    MigrationPlan,
    Step,
    StepCallback,
    Target,
)
from gen_migrate.dialects.iceberg.apply import StepRunner
from gen_migrate.dialects.iceberg.catalog import close_catalog, open_catalog
from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.dialects.iceberg.introspect import LiveTable, read_local_tables, read_tables
from gen_migrate.dialects.iceberg.sqlcatalog import SqliteCatalogReader, sqlite_reader
from gen_migrate.dialects.iceberg.state import collect
from gen_migrate.dialects.iceberg.translate import Policy, expected_table, translate
from gen_migrate.dialects.iceberg.types import type_map
from gen_migrate.errors import ConfigError, RefusedError, StepFailedError
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema


class IcebergTarget(Target):
    """An Iceberg store reached through a pyiceberg catalog (see ``IcebergTargetConfig``).

    On pyiceberg's SQL catalog on SQLite, :meth:`applied` and :meth:`live_columns` read the
    catalog file with :mod:`sqlite3` (see :mod:`~gen_migrate.dialects.iceberg.sqlcatalog`) and
    pyiceberg is imported only when a plan is executed; on any other catalog, everything goes
    through pyiceberg.
    """

    config: IcebergTargetConfig

    def __init__(self, name: str, config: IcebergTargetConfig, root: Path) -> None:
        super().__init__(name, config, root)
        self.policy = Policy(
            namespace=config.namespace,
            table_template=config.table,
            type_map=type_map(config.type_overrides),
            purge=config.drop == "purge",
            incompatible_type_change=config.incompatible_type_change,
            set_not_null=config.set_not_null,
        )
        self._catalog: Any = None
        self._reader: SqliteCatalogReader | None = None
        self._opened = False
        self._snapshot: _Snapshot | None = None
        try:
            self.policy.table_name(TableRef(schema="public", name="t"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"targets.{name}.table: bad template {config.table!r} "
                "(placeholders: {table}, {schema})"
            ) from exc

    @property
    def catalog(self) -> Any:
        """The open pyiceberg catalog, its namespace created if missing (opened on first
        use)."""
        if self._catalog is None:
            self._catalog = open_catalog(self.config, self.root)
        return self._catalog

    @property
    def client(self) -> SqliteCatalogReader | None:
        """The read-only SQLite reader of the catalog (``None`` when only pyiceberg can read
        it); every statement goes through its ``query``, which ``check`` counts."""
        return self._reader

    def open(self) -> None:
        """Get ready to read: a SQLite catalog is read without pyiceberg (nothing is created
        until a plan runs); any other catalog is opened, its namespace created if missing."""
        if self._opened:
            return
        self._reader = sqlite_reader(self.config, self.root)
        if self._reader is None and self._catalog is None:
            self._catalog = open_catalog(self.config, self.root)
        self._opened = True

    def close(self) -> None:
        """Release the catalog's connections."""
        self._snapshot = None
        self._opened = False
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._catalog is not None:
            close_catalog(self._catalog)
            self._catalog = None

    def table_name(self, ref: TableRef) -> str:
        """The Iceberg table name of a source table."""
        return self.policy.table_name(ref)

    def _read(self) -> _Snapshot:
        """The namespace properties and every table of it, read once per open target (until
        :meth:`execute` changes the store)."""
        if self._snapshot is None:
            self.open()
            self._snapshot = self._read_sqlite()
        if self._snapshot is None:
            ns = self.policy.namespace
            self._snapshot = _Snapshot(
                dict(self.catalog.load_namespace_properties(ns)), read_tables(self.catalog, ns)
            )
        return self._snapshot

    def _read_sqlite(self) -> _Snapshot | None:
        """The snapshot read through the SQLite reader, or ``None`` when pyiceberg must read
        it (no reader, a file SQLite cannot read, a metadata file that is not local)."""
        found = self._reader.read() if self._reader is not None else None
        if found is None:
            return None
        properties, rows = found
        tables = read_local_tables(self.policy.namespace, rows)
        return None if tables is None else _Snapshot(properties, tables)

    def applied(self) -> dict[str, AppliedMigration]:
        """Steps recorded on the namespace and on every table of it."""
        snapshot = self._read()
        return collect([snapshot.namespace, *(t.properties for t in snapshot.tables.values())])

    def _applied_now(self) -> dict[str, AppliedMigration]:
        """:meth:`applied` read afresh (the store changes while a plan runs)."""
        self._snapshot = None
        return self.applied()

    def plan(self, migration: Migration, checksum: str, before: Schema) -> MigrationPlan:
        """One step per operation that changes an Iceberg table; needs no catalog call."""
        return translate(migration, checksum, before, self.policy)

    def execute(self, plan: MigrationPlan, on_step: StepCallback | None = None) -> None:
        """Run the plan's steps in order; a recorded step is reported ``skipped``."""
        if plan.refusals:
            raise RefusedError(
                f"{plan.migration_id}: refused on target {self.name}: {plan.refusals[0]}",
                detail="\n".join(str(r) for r in plan.refusals),
            )
        self._snapshot = None
        try:
            self._run(plan, on_step)
        finally:
            self._snapshot = None

    def _run(self, plan: MigrationPlan, on_step: StepCallback | None) -> None:
        runner = StepRunner(
            self.catalog, self.policy.namespace, plan.checksum, len(plan.steps), self._applied_now
        )
        if not plan.steps:
            runner.record_empty(plan.migration_id)
            return
        for step in plan.steps:
            started = None if on_step is None else _reporter(on_step, step)
            try:
                outcome = runner.run(step, started)
            except StepFailedError as exc:
                raise StepFailedError(
                    f"target {self.name}: {exc.message}", detail=exc.detail
                ) from exc
            if on_step is not None:
                on_step(step, outcome)

    def live_columns(self, tables: Sequence[TableRef]) -> dict[TableRef, dict[str, str]]:
        """Iceberg type spellings of the managed tables present (one query on a SQL catalog)."""
        names = {self.table_name(t): t for t in tables}
        found = self._read().tables
        return {ref: dict(found[n].columns) for n, ref in names.items() if n in found}

    def expected_columns(
        self, schema: Schema, tables: Sequence[TableRef]
    ) -> dict[TableRef, dict[str, str]]:
        """The Iceberg type spellings ``schema`` maps to, for the given tables it has."""
        return {
            ref: expected_table(schema.tables[ref], self.policy)
            for ref in tables
            if ref in schema.tables
        }


@dataclass(frozen=True)
class _Snapshot:
    """What one read of the catalog found: namespace properties and the tables."""

    namespace: dict[str, str]
    tables: dict[str, LiveTable]


def _reporter(on_step: StepCallback, step: Step) -> Callable[[], None]:
    return lambda: on_step(step, "start")
