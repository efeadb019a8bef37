"""What plan/apply/status found and did: data for ``--json``, text for people, live progress.

Progress goes through a :class:`Progress`: rich on a terminal, plain lines otherwise (CI logs).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TextIO

from gen_migrate.dialects.base import MigrationPlan, Step


@dataclass
class MigrationReport:
    """One migration on one target: its plan and what became of it."""

    id: str
    phase: str
    checksum: str
    status: str
    """``pending`` (plan), ``would run`` (dry run), ``applied``, ``refused`` or ``failed``."""
    plan: MigrationPlan | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "id": self.id,
            "phase": self.phase,
            "checksum": self.checksum,
            "status": self.status,
        }
        if self.plan is not None:
            plan = self.plan.to_dict()
            out["steps"] = plan["steps"]
            out["refusals"] = plan["refusals"]
            out["notes"] = plan["notes"]
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class TargetReport:
    """Everything one target did or would do in this run."""

    name: str
    type: str
    migrations: list[MigrationReport] = field(default_factory=list)
    applied_before: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "type": self.type,
            "applied_before": self.applied_before,
            "migrations": [m.to_dict() for m in self.migrations],
        }


@dataclass
class DeployReport:
    """The outcome of ``plan`` or ``apply``."""

    action: str
    phase: str
    dry_run: bool = False
    targets: list[TargetReport] = field(default_factory=list)
    lock: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    command: list[str] = field(default_factory=list)
    command_exit: int | None = None
    exit_code: int = 0

    @property
    def pending_count(self) -> int:
        """Migrations listed across targets."""
        return sum(len(t.migrations) for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "action": self.action,
            "phase": self.phase,
            "dry_run": self.dry_run,
            "lock": self.lock,
            "targets": [t.to_dict() for t in self.targets],
            "message": self.message,
            "command": self.command,
            "command_exit": self.command_exit,
            "exit_code": self.exit_code,
        }


@dataclass
class TargetStatus:
    """``status`` of one target."""

    name: str
    type: str
    applied: list[str]
    pending_pre: list[str]
    pending_post: list[str]
    partial: list[str]
    last_applied: str | None
    schema_hash: str
    generic_hash: str
    drift: bool
    drift_tables: list[str]
    steps_recorded: int = 0
    live: dict[str, dict[str, str]] = field(default_factory=dict)
    """Live native column types of the managed tables, by ``schema.table``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def render_plan(report: DeployReport) -> str:
    """The human text of a plan (also what ``apply --dry-run`` prints); golden-tested."""
    head = "dry run" if report.dry_run else "plan"
    lines = [f"{head}: phase {report.phase}, {len(report.targets)} target(s)"]
    for t in report.targets:
        if not t.migrations:
            lines.append(f"target {t.name} ({t.type}): nothing pending")
            continue
        lines.append(f"target {t.name} ({t.type}): {len(t.migrations)} pending migration(s)")
        for m in t.migrations:
            lines.append(f"  migration {m.id} ({m.phase}) sha256:{m.checksum[:12]}")
            if m.plan is None:
                continue
            for note in m.plan.notes:
                lines.append(f"    note: {note}")
            for r in m.plan.refusals:
                lines.append(
                    f"    REFUSED {r.table}{'.' + r.column if r.column else ''}: {r.reason}"
                )
            for s in m.plan.steps:
                lines.append(f"    step {s.index}: {s.title}")
                if s.guard:
                    lines.append(f"      guard: {s.guard}")
                if s.note:
                    lines.append(f"      note: {s.note}")
                for stmt in s.statements:
                    for i, text in enumerate(stmt.splitlines() or [""]):
                        lines.append(("      > " if i == 0 else "        ") + text)
    if report.command:
        lines.append(f"then: {' '.join(report.command)}")
    return "\n".join(lines) + "\n"


def render_status(statuses: list[TargetStatus]) -> str:
    """The human text of ``status``."""
    lines: list[str] = []
    for s in statuses:
        lines.append(f"target {s.name} ({s.type})")
        lines.append(f"  applied: {len(s.applied)}, last: {s.last_applied or '-'}")
        lines.append(f"  pending pre: {', '.join(s.pending_pre) or '-'}")
        lines.append(f"  pending post: {', '.join(s.pending_post) or '-'}")
        if s.partial:
            lines.append(f"  partly applied (resume with apply): {', '.join(s.partial)}")
        lines.append(
            f"  schema hash: {s.schema_hash[:16]} (all generic files: {s.generic_hash[:16]})"
        )
        if s.drift:
            lines.append(
                f"  DRIFT: live columns differ from the applied migrations in: "
                f"{', '.join(s.drift_tables)}"
            )
        else:
            lines.append("  drift: none")
    return "\n".join(lines) + "\n"


class Progress(Protocol):
    """Receives events while ``apply`` runs."""

    def event(self, text: str, level: int = 0) -> None:
        """A line of progress at nesting ``level`` (0 target, 1 migration, 2 step)."""

    def step(self, step: Step, state: str) -> None:
        """A step changed state: ``start``, ``done`` or ``skipped``."""


class PlainProgress:
    """Plain lines, one per event (logs, pipes, ``--json`` on stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def event(self, text: str, level: int = 0) -> None:
        """Write one indented line."""
        self.stream.write("  " * level + text + "\n")
        self.stream.flush()

    def step(self, step: Step, state: str) -> None:
        """One line when a step finishes or is skipped."""
        if state != "start":
            self.event(f"step {step.index} {state}: {step.title}", 2)


class RichProgress:
    """Coloured lines and a spinner while a step runs."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console()
        self._status: Any = None

    def event(self, text: str, level: int = 0) -> None:
        """Print one indented, styled line."""
        style = ("bold", "cyan", "")[min(level, 2)]
        self.console.print("  " * level + text, style=style or None, highlight=False)

    def step(self, step: Step, state: str) -> None:
        """Spinner while a step runs; a tick or a skip mark afterwards."""
        if state == "start":
            self._status = self.console.status(f"step {step.index}: {step.title}")
            self._status.start()
            return
        if self._status is not None:
            self._status.stop()
            self._status = None
        mark = "[green]✓[/green]" if state == "done" else "[yellow]skip[/yellow]"
        self.console.print(f"    {mark} step {step.index}: {step.title}", highlight=False)


class NoProgress:
    """Silence."""

    def event(self, text: str, level: int = 0) -> None:
        """Ignore."""

    def step(self, step: Step, state: str) -> None:
        """Ignore."""


def make_progress(json_output: bool) -> Progress:
    """Rich on a terminal, plain lines otherwise; on stderr when stdout carries JSON."""
    if json_output:
        return PlainProgress(sys.stderr)
    if sys.stdout.isatty():
        return RichProgress()
    return PlainProgress()
