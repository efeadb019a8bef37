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
per data path, and a check must not read a deploy half-way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gen_migrate.check.completeness import GENERIC, capture_problems, postgres_schema
from gen_migrate.check.counting import QueryCount, count_queries
from gen_migrate.check.integrity import applied_problems, file_problems
from gen_migrate.check.parity import diff_columns, historical_refs, managed_refs
from gen_migrate.check.report import CheckCase, CheckReport
from gen_migrate.config import Config
from gen_migrate.deploy.lock import deploy_lock
from gen_migrate.deploy.targets import resolve_targets
from gen_migrate.dialects.registry import make_target
from gen_migrate.errors import InputError
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

    def keep(ref: TableRef) -> bool:
        return config.tables.managed(ref) and ref.name not in STATE_TABLES

    loaded, problems = validate_dir(config.migrations_dir)
    files = CheckCase("files", config.migrations.dir, "integrity", file_problems(problems))
    report.cases.append(files)
    generic = _replay(config, loaded, files, report)

    reference: Schema | None = generic
    if options.stores_only or not config.source.dsn:
        why = "--stores-only" if options.stores_only else "no [source] dsn configured"
        report.skipped.append(
            f"capture completeness: {why}; stores are compared with the schema {GENERIC} describe"
        )
        report.reference = GENERIC
    else:
        count = QueryCount()
        live = postgres_schema(config, keep, count)
        report.queries["postgres"] = count.value()
        reference = Schema(tables=live)
        if generic is None:
            report.skipped.append(f"capture completeness: {GENERIC} could not be read")
        else:
            for ref in managed_refs([generic, reference], keep):
                found = capture_problems(generic.tables.get(ref), live.get(ref), ref)
                report.cases.append(CheckCase("postgres", str(ref), "capture", found))

    if reference is None:
        report.skipped.append(f"store parity: {GENERIC} could not be read")
    elif not (options.targets or config.targets):
        report.skipped.append("store parity: no targets configured")
    else:
        _check_targets(config, options, loaded, reference, keep, report)
    return report


def _replay(
    config: Config, loaded: list[MigrationFile], files: CheckCase, report: CheckReport
) -> Schema | None:
    """The schema the generic files describe, or None (and ``bad_input``) when a file could
    not be loaded or the set does not replay."""
    directory = config.migrations_dir
    on_disk = sum(1 for _ in directory.glob("*.json")) if directory.is_dir() else -1
    if len(loaded) != on_disk:
        report.bad_input = True
        return None
    try:
        return replay(mf.migration.operations for mf in loaded)
    except ReplayError as exc:
        files.problems.append(f"replaying the generic migrations fails: {exc.message}")
        report.bad_input = True
        return None


def _check_targets(
    config: Config,
    options: CheckOptions,
    loaded: list[MigrationFile],
    reference: Schema,
    keep: Callable[[TableRef], bool],
    report: CheckReport,
) -> None:
    chosen = resolve_targets(config, options.targets)
    by_id = {mf.migration.id: mf for mf in loaded}
    refs = managed_refs([reference], keep)
    asked = sorted(
        set(refs) | {r for r in historical_refs(loaded) if keep(r)},
        key=lambda r: (r.schema, r.name),
    )
    with deploy_lock(config.source.dsn, config.state_dir, options.lock_timeout):
        for name, tc in chosen:
            try:
                target = make_target(name, tc, config.root)
            except ImportError as exc:
                raise InputError(
                    f"target {name}: the {tc.type} dialect is not available: {exc}"
                ) from None
            with target, count_queries(target) as count:
                applied = target.applied()
                live = target.live_columns(asked)
            report.queries[name] = count.value()
            report.cases.append(
                CheckCase(
                    name, "applied checksums", "integrity", applied_problems(name, applied, by_id)
                )
            )
            expected = target.expected_columns(reference, refs)
            for ref in asked:
                found = diff_columns(name, ref, expected.get(ref), live.get(ref), report.reference)
                if ref in expected or found:
                    report.cases.append(CheckCase(name, str(ref), "parity", found))
