"""Running one Iceberg step against the catalog, with its state written in the same commit.

Every runner first checks the step's recorded property (a rerun or a concurrent deployer may
have done it), then does the work. A ``CommitFailedException`` (another writer committed first)
or a lost creation/rename race makes :meth:`StepRunner.run` reload and check again, so a step
is either recorded by exactly one writer or retried on the fresh table.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, Literal

from gen_migrate.dialects.base import AppliedMigration, Step
from gen_migrate.dialects.iceberg import payloads as p
from gen_migrate.dialects.iceberg.introspect import table_metadata
from gen_migrate.dialects.iceberg.state import (
    empty_key,
    recorded_checksum,
    state_properties,
    step_key,
    step_value,
)
from gen_migrate.dialects.iceberg.types import parse_type
from gen_migrate.errors import StepFailedError

Outcome = Literal["done", "skipped"]
ATTEMPTS = 20
RECORD_WAIT = 1.0
NAMESPACE_WRITE_ATTEMPTS = 3


class _Retry(Exception):
    """Someone else changed the table or catalog first: reload and check again."""


class StepRunner:
    """Runs steps of one migration against an open catalog and namespace."""

    def __init__(
        self,
        catalog: Any,
        namespace: str,
        checksum: str,
        total: int,
        applied: Callable[[], dict[str, AppliedMigration]],
    ) -> None:
        self.catalog = catalog
        self.applied = applied
        self._known: dict[str, AppliedMigration] = {}
        self.namespace = namespace
        self.checksum = checksum
        self.total = total
        self._on_start: Callable[[], None] | None = None

    def _starting(self) -> None:
        """The guard said the step has not run: report it once, before the work."""
        if self._on_start is not None:
            self._on_start()
            self._on_start = None

    def _ident(self, table: str) -> tuple[str, str]:
        return (self.namespace, table)

    def _value(self) -> str:
        return step_value(self.checksum, self.total)

    def _recorded(self, props: dict[str, str], step: Step) -> bool:
        found = recorded_checksum(props, step.migration_id, step.index)
        if found is None:
            return False
        if found != self.checksum:
            raise StepFailedError(
                f"{step.migration_id} step {step.index}: recorded with checksum {found[:12]}, "
                f"the migration now has {self.checksum[:12]} (the file changed after it ran)"
            )
        return True

    def _recorded_anywhere(self, step: Step) -> bool:
        """Recorded on any table or the namespace: the table a step made may since have been
        renamed or dropped by a later step."""
        am = self._known.get(step.migration_id)
        if am is None or step.index not in am.steps_done:
            # Records are never removed, so only a miss needs a fresh look.
            self._known = self.applied()
            am = self._known.get(step.migration_id)
        if am is None or step.index not in am.steps_done:
            return False
        if am.checksum != self.checksum:
            raise StepFailedError(
                f"{step.migration_id} step {step.index}: recorded with checksum "
                f"{am.checksum[:12]}, the migration now has {self.checksum[:12]} "
                "(the file changed after it ran)"
            )
        return True

    def _load(self, table: str) -> Any | None:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table(self._ident(table))
        except NoSuchTableError:
            return None

    def run(self, step: Step, on_start: Callable[[], None] | None = None) -> Outcome:
        """Run one step unless recorded; retries after losing a race to another writer.
        ``on_start`` is called once, when the step is found not done and its work begins."""
        from pyiceberg.exceptions import CommitFailedException
        from sqlalchemy.exc import IntegrityError, OperationalError

        payload = step.payload
        self._on_start = on_start
        last: Exception | None = None
        for attempt in range(ATTEMPTS):
            try:
                if self._recorded_anywhere(step):
                    return "skipped"
                if isinstance(payload, p.UpdateSchema):
                    return self._update(step, payload)
                if isinstance(payload, p.CreateTable):
                    return self._create(step, payload)
                if isinstance(payload, p.DropTable):
                    return self._drop(step, payload)
                if isinstance(payload, p.RenameTable):
                    return self._rename(step, payload)
                raise StepFailedError(f"{step.migration_id} step {step.index}: no payload")
            except (CommitFailedException, _Retry, IntegrityError, OperationalError) as exc:
                last = exc
                time.sleep(0.01 * (attempt + 1))
            except StepFailedError:
                raise
            except Exception as exc:
                raise StepFailedError(
                    f"{step.migration_id} step {step.index} ({step.title}) failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        raise StepFailedError(
            f"{step.migration_id} step {step.index} ({step.title}): gave up after "
            f"{ATTEMPTS} attempts: {type(last).__name__}: {last}"
        )

    def _update(self, step: Step, payload: p.UpdateSchema) -> Outcome:
        table = self._load(payload.table)
        if table is None:
            # Gone since the record check (a faster deployer renamed it): check again.
            raise _Retry(f"table {self.namespace}.{payload.table} does not exist")
        if self._recorded(table.properties, step):
            return "skipped"
        self._starting()
        identifiers = set(table.schema().identifier_field_names())
        before = set(identifiers)
        with table.transaction() as tx:
            with tx.update_schema() as update:
                for call in payload.calls:
                    call.apply(update, identifiers)
                if identifiers != before or before:
                    update.set_identifier_fields(*sorted(identifiers))
            tx.set_properties({step_key(step.migration_id, step.index): self._value()})
        return "done"

    def _create(self, step: Step, payload: p.CreateTable) -> Outcome:
        from pyiceberg.exceptions import TableAlreadyExistsError
        from pyiceberg.schema import Schema
        from pyiceberg.types import NestedField

        existing = self._load(payload.table)
        if existing is not None:
            if self._recorded(existing.properties, step):
                return "skipped"
            raise StepFailedError(
                f"{step.migration_id} step {step.index}: table {self.namespace}.{payload.table} "
                "already exists and was not created by this migration"
            )
        self._starting()
        nested = itertools.count(len(payload.columns) + 1)
        fields = [
            NestedField(i, c.name, parse_type(c.type, nested.__next__), required=c.required)
            for i, c in enumerate(payload.columns, start=1)
        ]
        ids = [f.field_id for f in fields if f.name in payload.identifier]
        schema = Schema(*fields, identifier_field_ids=ids)
        try:
            created = self.catalog.create_table(
                self._ident(payload.table),
                schema=schema,
                properties={step_key(step.migration_id, step.index): self._value()},
            )
        except TableAlreadyExistsError:
            raise _Retry() from None
        if self._recorded_elsewhere(step, str(created.metadata.table_uuid)):
            # A faster deployer created it and already renamed or dropped it, freeing the
            # name: ours is an empty duplicate.
            self.catalog.drop_table(self._ident(payload.table))
            return "skipped"
        return "done"

    def _recorded_elsewhere(self, step: Step, own_uuid: str) -> bool:
        key = step_key(step.migration_id, step.index)
        if key in self._namespace_props():
            return True
        return any(
            key in meta.properties and str(meta.table_uuid) != own_uuid
            for meta in table_metadata(self.catalog, self.namespace, None).values()
        )

    def _namespace_props(self) -> dict[str, str]:
        return dict(self.catalog.load_namespace_properties(self.namespace))

    def _set_namespace_props(self, updates: dict[str, str]) -> None:
        """Write the ``updates`` the namespace does not hold yet. Another deployer may write
        the same keys between our read and our write (a SQL catalog then refuses the second
        insert of a key): read again and write what is still missing."""
        for attempt in range(NAMESPACE_WRITE_ATTEMPTS):
            current = self._namespace_props()
            missing = {k: v for k, v in updates.items() if current.get(k) != v}
            if not missing:
                return
            try:
                self.catalog.update_namespace_properties(self.namespace, updates=missing)
                return
            except Exception:
                if attempt == NAMESPACE_WRITE_ATTEMPTS - 1:
                    raise

    def _drop(self, step: Step, payload: p.DropTable) -> Outcome:
        from pyiceberg.exceptions import NoSuchTableError

        if self._recorded(self._namespace_props(), step):
            return "skipped"
        self._starting()
        table = self._load(payload.table)
        if table is not None:
            # The table's records of earlier migrations must outlive it.
            self._set_namespace_props(state_properties(table.properties))
            try:
                if payload.purge:
                    self.catalog.purge_table(self._ident(payload.table))
                else:
                    self.catalog.drop_table(self._ident(payload.table))
            except NoSuchTableError:
                pass
        self._set_namespace_props({step_key(step.migration_id, step.index): self._value()})
        return "done"

    def _rename(self, step: Step, payload: p.RenameTable) -> Outcome:
        from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

        target = self._load(payload.new_name)
        if target is not None and self._recorded(target.properties, step):
            return "skipped"
        self._starting()
        source = self._load(payload.table)
        if source is not None:
            if target is not None:
                raise StepFailedError(
                    f"{step.migration_id} step {step.index}: both {self.namespace}."
                    f"{payload.table} and {payload.new_name} exist"
                )
            try:
                self.catalog.rename_table(self._ident(payload.table), self._ident(payload.new_name))
            except (NoSuchTableError, TableAlreadyExistsError):
                raise _Retry() from None
            target = self._load(payload.new_name)
        elif target is not None and self._record_appears(payload.new_name, step):
            # Another deployer renamed it and is about to record: let it.
            return "skipped"
        if target is None:
            raise _Retry(f"neither {self.namespace}.{payload.table} nor {payload.new_name} exists")
        # The rename is the guard; the record follows on the renamed table.
        with target.transaction() as tx:
            tx.set_properties({step_key(step.migration_id, step.index): self._value()})
        return "done"

    def _record_appears(self, table: str, step: Step) -> bool:
        """Poll briefly for another writer's record (renamed, not yet recorded). A rename done
        by a process that then died is recorded by us after the wait."""
        deadline = time.monotonic() + RECORD_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.05)
            found = self._load(table)
            if found is not None and self._recorded(found.properties, step):
                return True
        return False

    def record_empty(self, migration_id: str) -> Outcome:
        """Record a migration that needs no Iceberg step."""
        key = empty_key(migration_id)
        if self._namespace_props().get(key) == self.checksum:
            return "skipped"
        self._set_namespace_props({key: self.checksum})
        return "done"
