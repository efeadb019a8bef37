"""What every dialect provides: plans of guarded steps, execution with state, introspection.

Like dlt's destinations, each dialect fills the same roles in its own package:
``config`` (settings model), ``types`` (type mapping), ``translate`` (operations → steps),
``introspect`` (live columns, one catalog query), ``state`` (applied steps in the store itself),
``client`` (lazy connection) and ``target`` (the :class:`Target` below).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema


@dataclass
class Step:
    """One unit of work: statements that run together, a guard, and a note for the reader.

    ``statements`` are what an operator reads in ``plan``: SQL for ClickHouse and Postgres, the
    schema-update calls for Iceberg. ``guard`` is the dialect's own description of how it knows
    the step already ran (shown in plans; the check itself lives in the dialect).
    """

    migration_id: str
    index: int
    title: str
    statements: list[str]
    note: str = ""
    guard: str = ""
    payload: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``plan --json`` and golden files."""
        return {
            "index": self.index,
            "title": self.title,
            "statements": list(self.statements),
            "note": self.note,
            "guard": self.guard,
        }


@dataclass
class Refusal:
    """An operation the dialect will not run, with the exact table/column and reason."""

    migration_id: str
    table: str
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.migration_id}: {where}: {self.reason}"


@dataclass
class MigrationPlan:
    """The steps one migration needs on one target (steps already done are still listed)."""

    migration_id: str
    checksum: str
    steps: list[Step] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "migration": self.migration_id,
            "checksum": self.checksum,
            "steps": [s.to_dict() for s in self.steps],
            "refusals": [str(r) for r in self.refusals],
            "notes": list(self.notes),
        }


@dataclass
class AppliedMigration:
    """What a target's state says about one migration."""

    migration_id: str
    checksum: str
    steps_done: set[int] = field(default_factory=set)
    complete: bool = False


StepCallback = Callable[[Step, str], None]
"""Called with a step and ``"start"``, ``"done"`` or ``"skipped"`` (its guard said it ran)."""


class Target(ABC):
    """One configured downstream store. Use as a context manager: it opens the client lazily."""

    def __init__(self, name: str, config: Any, root: Path) -> None:
        self.name = name
        self.config = config
        self.root = root

    def __enter__(self) -> Target:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def open(self) -> None:
        """Connect (imports heavy libraries here, not at module import)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    @abstractmethod
    def applied(self) -> dict[str, AppliedMigration]:
        """State recorded in the store: migration id → what ran (empty when no state yet)."""

    @abstractmethod
    def plan(self, migration: Migration, checksum: str, before: Schema) -> MigrationPlan:
        """Translate one migration against the live store; ``before`` is the generic schema
        replayed up to (not including) this migration."""

    @abstractmethod
    def execute(self, plan: MigrationPlan, on_step: StepCallback | None = None) -> None:
        """Run the plan's steps in order, skipping recorded ones and those whose guard says they
        ran, recording each as it finishes. Raises ``StepFailedError`` on failure."""

    @abstractmethod
    def live_columns(self, tables: Sequence[TableRef]) -> dict[TableRef, dict[str, str]]:
        """Native column types of the managed tables, by source table (a constant number of
        catalog queries, whatever the number of tables). Pipeline-only columns are left out;
        tables missing in the store are left out."""

    @abstractmethod
    def expected_columns(
        self, schema: Schema, tables: Sequence[TableRef]
    ) -> dict[TableRef, dict[str, str]]:
        """The native column types the store should have for ``schema``, same shape as
        :meth:`live_columns`."""
