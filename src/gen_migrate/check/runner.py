"""``check``: integrity, capture completeness and store parity, in one report.

- *integrity*: the generic files against their sum file, and every checksum a target recorded
  against the file it came from (see :mod:`gen_migrate.check.integrity`);
- *capture completeness*: the replay of ``generic_migrations/`` against the live Postgres
  schema of the managed tables (see :mod:`gen_migrate.check.completeness`); skipped without a
  ``[source] dsn`` or with ``stores_only``;
- *store parity*: per target and managed table, the live columns against the columns the
  target's type map gives the reference schema: live Postgres when it is checked, else the
  schema the generic files describe (see :mod:`gen_migrate.check.parity`).

Each store is introspected with a constant number of queries, whatever the number of tables;
the counts are in the report. Stores are opened under the deploy lock (chdb allows one process
per data path, and a check must not read a deploy half-way), in the background from the start so
opening them overlaps reading the generic files and Postgres, and read concurrently, one worker
per dialect, so the slowest store sets the time rather than the sum of all.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen_migrate.check.completeness import GENERIC, capture_problems, postgres_schema
from gen_migrate.check.counting import QueryCount, count_queries
from gen_migrate.check.integrity import applied_problems, file_problems
from gen_migrate.check.parity import diff_columns, historical_refs, managed_refs
from gen_migrate.check.report import CheckCase, CheckReport
from gen_migrate.config import Config
from gen_migrate.deploy.lock import deploy_lock
from gen_migrate.deploy.targets import resolve_targets
from gen_migrate.dialects.base import AppliedMigration
from gen_migrate.dialects.registry import make_target
from gen_migrate.generic.files import MigrationFile, validate_dir
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import ReplayError, Schema, replay

STATE_TABLES = frozenset({"gen_migrate_migrations"})
"""Tables gen-migrate itself keeps in Postgres; never compared."""

DEFAULT_LOCK_TIMEOUT = 600.0


@dataclass
class CheckOptions:
    """What ``check`` compares."""

    targets: Sequence[str] = ()
    """Only these targets (default: every configured one)."""
    stores_only: bool = False
    """Skip capture completeness and compare stores with the generic files, even when a
    ``[source] dsn`` is configured."""
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT


def run_check(config: Config, options: CheckOptions | None = None) -> CheckReport:
    """Check everything ``options`` asks for; raises only for unusable configuration (unknown
    target, unreachable source database, lock timeout), every difference is in the report."""
    options = options or CheckOptions()
    report = CheckReport()
    chosen = resolve_targets(config, options.targets) if options.targets or config.targets else []
    with contextlib.ExitStack() as stack:
        stores = None
        if chosen:
            stack.enter_context(
                deploy_lock(config.source.dsn, config.state_dir, options.lock_timeout)
            )
            stores = stack.enter_context(_StoreReads(chosen, config.root))
        _run_check(config, options, report, chosen, stores)
    return report


def _run_check(
    config: Config,
    options: CheckOptions,
    report: CheckReport,
    chosen: list[tuple[str, Any]],
    stores: _StoreReads | None,
) -> None:
    def keep(ref: TableRef) -> bool:
        return config.tables.managed(ref) and ref.name not in STATE_TABLES

    start = time.perf_counter()
    loaded, problems = validate_dir(config.migrations_dir)
    files = CheckCase("files", config.migrations.dir, "integrity", file_problems(problems))
    report.cases.append(files)
    generic = _replay(config, loaded, files, report)
    report.seconds["files"] = time.perf_counter() - start

    reference: Schema | None = generic
    if options.stores_only or not config.source.dsn:
        why = "--stores-only" if options.stores_only else "no [source] dsn configured"
        report.skipped.append(
            f"capture completeness: {why}; stores are compared with the schema {GENERIC} describe"
        )
        report.reference = GENERIC
    else:
        count = QueryCount()
        start = time.perf_counter()
        live = postgres_schema(config, keep, count)
        report.seconds["postgres"] = time.perf_counter() - start
        report.queries["postgres"] = count.value()
        reference = Schema(tables=live)
        if generic is None:
            report.skipped.append(f"capture completeness: {GENERIC} could not be read or replayed")
        else:
            for ref in managed_refs([generic, reference], keep):
                found = capture_problems(generic.tables.get(ref), live.get(ref), ref)
                report.cases.append(CheckCase("postgres", str(ref), "capture", found))

    if reference is None:
        report.skipped.append(f"store parity: {GENERIC} could not be read or replayed")
    elif stores is None:
        report.skipped.append("store parity: no targets configured")
    else:
        _check_targets(chosen, stores, loaded, reference, keep, report)


def _replay(
    config: Config, loaded: list[MigrationFile], files: CheckCase, report: CheckReport
) -> Schema | None:
    """The schema the generic files describe; None when a file cannot be loaded (bad input)
    or the set does not replay (drift: a file was edited by hand)."""
    directory = config.migrations_dir
    on_disk = sum(1 for _ in directory.glob("*.json")) if directory.is_dir() else -1
    if len(loaded) != on_disk:
        report.bad_input = True
        return None
    try:
        return replay(mf.migration.operations for mf in loaded)
    except ReplayError as exc:
        files.problems.append(f"replaying the generic migrations fails: {exc.message}")
        return None


@dataclass
class _StoreView:
    """What one store holds and should hold, read while it was open."""

    applied: dict[str, AppliedMigration]
    live: dict[TableRef, dict[str, str]]
    expected: dict[TableRef, dict[str, str]]
    queries: int | None
    seconds: float


@dataclass(frozen=True)
class _Job:
    """What the stores are read for, known once the generic files (and Postgres) are read."""

    reference: Schema
    refs: list[TableRef]
    asked: list[TableRef]


class _StoreReads:
    """Every chosen store, opened in the background from the start of the check and read once
    the tables to compare are known.

    Opening is the slow part (chdb loads every table of its data path; pyiceberg imports), so it
    overlaps reading the generic files and Postgres. One worker per dialect, whose targets it
    opens, reads and closes one after the other (chdb runs one engine per process; dialects
    never share a library). Use as a context manager: leaving it unread closes every store.
    """

    def __init__(self, chosen: list[tuple[str, Any]], root: Path) -> None:
        by_type: dict[str, list[tuple[str, Any]]] = {}
        for name, tc in chosen:
            by_type.setdefault(tc.type, []).append((name, tc))
        self._root = root
        self._job: Future[_Job | None] = Future()
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(by_type)))
        self._work = [self._pool.submit(self._read_group, group) for group in by_type.values()]

    def __enter__(self) -> _StoreReads:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._job.done():
            self._job.set_result(None)
        self._pool.shutdown(wait=True)

    def read(
        self, reference: Schema, refs: list[TableRef], asked: list[TableRef]
    ) -> dict[str, _StoreView]:
        """Hand the workers the tables to compare and wait for every store's view."""
        self._job.set_result(_Job(reference, refs, asked))
        views: dict[str, _StoreView] = {}
        for work in self._work:
            views.update(work.result())
        return views

    def _read_group(self, group: list[tuple[str, Any]]) -> dict[str, _StoreView]:
        return {name: self._read_one(name, tc) for name, tc in group}

    def _read_one(self, name: str, tc: Any) -> _StoreView:
        """Open one target, wait for the job, read its state and columns (counting the
        queries), close it."""
        start = time.perf_counter()
        target = make_target(name, tc, self._root)
        with target:
            opened = time.perf_counter() - start
            job = self._job.result()
            if job is None:
                return _StoreView({}, {}, {}, None, 0.0)
            read_start = time.perf_counter()
            with count_queries(target) as count:
                applied = target.applied()
                live = target.live_columns(job.asked)
            expected = target.expected_columns(job.reference, job.refs)
        # the wait for the files and Postgres is not this store's time
        seconds = opened + time.perf_counter() - read_start
        return _StoreView(applied, live, expected, count.value(), seconds)


def _check_targets(
    chosen: list[tuple[str, Any]],
    stores: _StoreReads,
    loaded: list[MigrationFile],
    reference: Schema,
    keep: Callable[[TableRef], bool],
    report: CheckReport,
) -> None:
    by_id = {mf.migration.id: mf for mf in loaded}
    refs = managed_refs([reference], keep)
    asked = sorted(
        set(refs) | {r for r in historical_refs(loaded) if keep(r)},
        key=lambda r: (r.schema, r.name),
    )
    views = stores.read(reference, refs, asked)
    for name, _ in chosen:
        view = views[name]
        report.queries[name] = view.queries
        report.seconds[name] = view.seconds
        problems = applied_problems(name, view.applied, by_id)
        report.cases.append(CheckCase(name, "applied checksums", "integrity", problems))
        for ref in asked:
            expected = view.expected.get(ref)
            found = diff_columns(name, ref, expected, view.live.get(ref), report.reference)
            if expected is not None or found:
                report.cases.append(CheckCase(name, str(ref), "parity", found))
