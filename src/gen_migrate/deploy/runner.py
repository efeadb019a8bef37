"""``plan``, ``apply`` and ``status``: verify files, lock, then per target the pending steps.

Order of ``apply``: load and verify ``generic_migrations/`` and its sum file; take the deploy
lock; open every chosen target; verify every applied checksum and the phase order on every target
(so a refusal leaves everything untouched); then per target, in file order, plan each pending
migration against the live store and execute it; only when every target succeeded, the
COMMAND. Targets are reached only through :class:`~gen_migrate.dialects.base.Target`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from gen_migrate.config import Config
from gen_migrate.deploy.lock import LockInfo, deploy_lock
from gen_migrate.deploy.pending import (
    before_schema,
    check_order,
    done_ids,
    pending,
    verify_applied,
)
from gen_migrate.deploy.report import (
    DeployReport,
    MigrationReport,
    NoProgress,
    Progress,
    TargetReport,
    TargetStatus,
)
from gen_migrate.deploy.targets import resolve_targets
from gen_migrate.dialects.base import AppliedMigration, Target
from gen_migrate.dialects.registry import make_target
from gen_migrate.errors import EXIT_REFUSED, RefusedError
from gen_migrate.generic.files import MigrationFile, load_dir
from gen_migrate.generic.migration import Phase
from gen_migrate.generic.schema import replay

DEFAULT_LOCK_TIMEOUT = 600.0


@dataclass
class DeployOptions:
    """What ``plan``/``apply`` should do."""

    phase: Phase
    targets: Sequence[str] = ()
    dry_run: bool = False
    allow_out_of_order: bool = False
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    command: Sequence[str] = field(default_factory=tuple)
    command_to_stderr: bool = False
    """Send the command's stdout to stderr (when stdout carries the JSON report)."""


@dataclass
class _Opened:
    target: Target
    type: str
    applied: dict[str, AppliedMigration]
    done: set[str]


@contextmanager
def _session(
    config: Config, names: Sequence[str], timeout: float
) -> Iterator[tuple[list[MigrationFile], list[_Opened], LockInfo]]:
    """Verified files, then the lock, then every chosen target opened with its state read and
    every applied checksum verified."""
    files = load_dir(config.migrations_dir)
    chosen = resolve_targets(config, names)
    with deploy_lock(config.source.dsn, config.state_dir, timeout) as lock, ExitStack() as stack:
        opened: list[_Opened] = []
        for name, tc in chosen:
            target = make_target(name, tc, config.root)
            stack.enter_context(target)
            applied = target.applied()
            verify_applied(files, applied, name, config.migrations_dir)
            opened.append(_Opened(target, tc.type, applied, done_ids(applied)))
        yield files, opened, lock


def _lock_dict(lock: LockInfo) -> dict[str, Any]:
    return {"kind": lock.kind, "where": lock.where, "waited": lock.waited}


def plan(config: Config, options: DeployOptions) -> DeployReport:
    """Per target, the pending migrations of the phase and the steps each would run; nothing is
    changed. ``exit_code`` is 2 when a migration is refused or out of order."""
    report = DeployReport(
        "plan", options.phase, dry_run=options.dry_run, command=list(options.command)
    )
    with _session(config, options.targets, options.lock_timeout) as (files, opened, lock):
        report.lock = _lock_dict(lock)
        for o in opened:
            if not options.allow_out_of_order:
                try:
                    check_order(files, o.done, options.phase, o.target.name)
                except RefusedError as exc:
                    report.exit_code = EXIT_REFUSED
                    report.message = exc.message
            report.targets.append(_plan_target(files, o, options.phase))
    if any(m.status == "refused" for t in report.targets for m in t.migrations):
        report.exit_code = EXIT_REFUSED
    if not report.message:
        report.message = _summary(report, options.phase)
    return report


def _plan_target(files: list[MigrationFile], o: _Opened, phase: Phase) -> TargetReport:
    tr = TargetReport(o.target.name, o.type, applied_before=len(o.done))
    present = set(o.done)
    for mf in pending(files, o.done, phase):
        mplan = o.target.plan(
            mf.migration, mf.checksum, before_schema(files, present, mf.migration.id)
        )
        status = "refused" if mplan.refusals else "pending"
        tr.migrations.append(MigrationReport(mf.migration.id, phase, mf.checksum, status, mplan))
        present.add(mf.migration.id)
    return tr


def apply(config: Config, options: DeployOptions, progress: Progress | None = None) -> DeployReport:
    """Apply the phase's pending migrations to every chosen target, then run the command.

    Raises :class:`~gen_migrate.errors.GenMigrateError` subclasses: input/refusal (2), a failed
    step (1), lock timeout (3). With ``dry_run`` it plans only.
    """
    if options.dry_run:
        return plan(config, options)
    progress = progress or NoProgress()
    report = DeployReport("apply", options.phase, command=list(options.command))
    with _session(config, options.targets, options.lock_timeout) as (files, opened, lock):
        report.lock = _lock_dict(lock)
        if lock.waited:
            progress.event(f"waited {lock.seconds:.1f}s for the deploy lock ({lock.kind})")
        if not options.allow_out_of_order:
            for o in opened:
                check_order(files, o.done, options.phase, o.target.name)
        for o in opened:
            report.targets.append(_apply_target(files, o, options.phase, progress))
    done = sum(len(t.migrations) for t in report.targets)
    if done == 0:
        report.message = f"nothing to do: every {options.phase} migration is already applied"
        if lock.waited:
            report.message += " (by another deployer, while this one waited for the lock)"
    else:
        report.message = f"applied {done} migration(s) across {len(report.targets)} target(s)"
    progress.event(report.message)
    if options.command:
        progress.event(f"running: {' '.join(options.command)}")
        report.command_exit = run_command(options.command, to_stderr=options.command_to_stderr)
        report.exit_code = report.command_exit
    return report


def _apply_target(
    files: list[MigrationFile], o: _Opened, phase: Phase, progress: Progress
) -> TargetReport:
    target = o.target
    tr = TargetReport(target.name, o.type, applied_before=len(o.done))
    todo = pending(files, o.done, phase)
    progress.event(f"target {target.name} ({o.type}): {len(todo)} pending {phase} migration(s)")
    present = set(o.done)
    for mf in todo:
        mid = mf.migration.id
        progress.event(f"migration {mid}", 1)
        mplan = target.plan(mf.migration, mf.checksum, before_schema(files, present, mid))
        if mplan.refusals:
            raise RefusedError(
                f"target {target.name}: {mplan.refusals[0]}",
                detail="\n".join(map(str, mplan.refusals)),
            )
        target.execute(mplan, on_step=progress.step)
        tr.migrations.append(MigrationReport(mid, phase, mf.checksum, "applied", mplan))
        present.add(mid)
    return tr


def run_command(command: Sequence[str], *, to_stderr: bool = False) -> int:
    """Run the app's own migration command; its exit code (127 when it cannot be started)."""
    try:
        done = subprocess.run(list(command), stdout=sys.stderr if to_stderr else None, check=False)
    except OSError as exc:
        print(f"error: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return done.returncode


def status(
    config: Config, names: Sequence[str] = (), lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> list[TargetStatus]:
    """Per target: applied and pending migrations, last applied, schema hash, drift flag."""
    out: list[TargetStatus] = []
    with _session(config, names, lock_timeout) as (files, opened, _lock):
        whole = replay(mf.migration.operations for mf in files)
        generic_hash = whole.hash([r for r in whole.tables if config.tables.managed(r)])
        for o in opened:
            schema = before_schema(files, o.done, "")
            managed = [r for r in schema.tables if config.tables.managed(r)]
            live = o.target.live_columns(managed)
            expected = o.target.expected_columns(schema, managed)
            drift = sorted(
                str(r) for r in set(live) | set(expected) if live.get(r) != expected.get(r)
            )
            applied = [mf.migration.id for mf in files if mf.migration.id in o.done]
            out.append(
                TargetStatus(
                    name=o.target.name,
                    type=o.type,
                    applied=applied,
                    pending_pre=[m.migration.id for m in pending(files, o.done, "pre")],
                    pending_post=[m.migration.id for m in pending(files, o.done, "post")],
                    partial=sorted(set(o.applied) - o.done),
                    last_applied=applied[-1] if applied else None,
                    schema_hash=schema.hash(managed),
                    generic_hash=generic_hash,
                    drift=bool(drift),
                    drift_tables=drift,
                    steps_recorded=sum(len(a.steps_done) for a in o.applied.values()),
                    live={
                        str(r): dict(sorted(c.items())) for r, c in sorted(live.items(), key=str)
                    },
                )
            )
    return out


def _summary(report: DeployReport, phase: Phase) -> str:
    n = report.pending_count
    if n == 0:
        return f"nothing to do: every {phase} migration is already applied"
    return f"{n} pending {phase} migration(s) across {len(report.targets)} target(s)"
