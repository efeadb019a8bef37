"""``check``: capture completeness, store parity and integrity, in one report.

- *integrity*: the generic files against their sum file, and every checksum a target recorded
  against the file it came from;
- *capture completeness*: the replay of ``generic_migrations/`` against the live Postgres
  schema of the managed tables (a migration that ran but was not captured is drift);
- *store parity*: per target and managed table, the live columns against the columns the
  target's type map gives the Postgres schema (or, without a ``[source] dsn``, the schema the
  generic files describe). Sets are compared, not positions; pipeline-only columns are left out
  by the targets.

Each store is introspected with a constant number of queries, whatever the number of tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gen_migrate.check.parity import capture_problems, diff_columns, managed_refs
from gen_migrate.check.report import CheckCase, CheckReport
from gen_migrate.config import Config
from gen_migrate.deploy.lock import deploy_lock
from gen_migrate.deploy.targets import resolve_targets
from gen_migrate.dialects.registry import make_target
from gen_migrate.errors import InputError, StepFailedError
from gen_migrate.generic.files import MigrationFile, validate_dir
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import ReplayError, Schema, replay

STATE_TABLES = frozenset({"gen_migrate_migrations"})
"""Tables gen-migrate itself keeps in Postgres; never compared."""


def run_check(
    config: Config, names: Sequence[str] = (), lock_timeout: float = 600.0
) -> CheckReport:
    """Check everything; ``names`` limits store parity to those targets (default: all)."""
    report = CheckReport()

    def keep(ref: TableRef) -> bool:
        return config.tables.managed(ref) and ref.name not in STATE_TABLES

    loaded, problems = validate_dir(config.migrations_dir)
    files = CheckCase("files", config.migrations.dir, "integrity", [str(p) for p in problems])
    report.cases.append(files)
    generic: Schema | None
    try:
        generic = replay(mf.migration.operations for mf in loaded)
    except ReplayError as exc:
        files.problems.append(f"replaying the generic migrations fails: {exc.message}")
        generic = None

    live_pg = _postgres_schema(config, keep) if config.source.dsn else None
    if live_pg is None:
        report.skipped.append(
            "capture completeness: no [source] dsn; stores are compared with the schema the "
            "generic files describe"
        )
    elif generic is not None:
        for ref in managed_refs([generic, live_pg], keep):
            found = capture_problems(generic.tables.get(ref), live_pg.tables.get(ref), ref)
            report.cases.append(CheckCase("postgres", str(ref), "capture", found))

    reference = live_pg if live_pg is not None else generic
    if reference is None or not (names or config.targets):
        if not (names or config.targets):
            report.skipped.append("store parity: no targets configured")
        return report
    _check_targets(config, names, lock_timeout, loaded, reference, keep, report)
    return report


def _postgres_schema(config: Config, keep: Callable[[TableRef], bool]) -> Schema:
    import psycopg

    from gen_migrate.capture.catalog import introspect_schema

    assert config.source.dsn is not None
    try:
        with psycopg.connect(config.source.dsn) as conn:
            return introspect_schema(
                conn,
                config.source.schemas,
                keep,
                overrides=config.types,
            )
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepFailedError(f"cannot read the source database: {first}") from None


def _check_targets(
    config: Config,
    names: Sequence[str],
    lock_timeout: float,
    loaded: list[MigrationFile],
    reference: Schema,
    keep: Callable[[TableRef], bool],
    report: CheckReport,
) -> None:
    chosen = resolve_targets(config, names)
    by_id = {mf.migration.id: mf for mf in loaded}
    refs = managed_refs([reference], keep)
    with deploy_lock(config.source.dsn, config.state_dir, lock_timeout):
        for name, tc in chosen:
            try:
                target = make_target(name, tc, config.root)
            except ImportError as exc:
                raise InputError(
                    f"target {name}: the {tc.type} dialect is not available: {exc}"
                ) from None
            with target:
                integrity = CheckCase(name, "applied checksums", "integrity")
                for mid, am in sorted(target.applied().items()):
                    mf = by_id.get(mid)
                    if mf is None:
                        integrity.problems.append(f"{mid} is applied but its file is missing")
                    elif mf.checksum != am.checksum:
                        integrity.problems.append(
                            f"{mf.name} changed after it was applied (applied "
                            f"sha256:{am.checksum}, file sha256:{mf.checksum})"
                        )
                report.cases.append(integrity)
                live = target.live_columns(refs)
                expected = target.expected_columns(reference, refs)
                for ref in refs:
                    found = diff_columns(name, ref, expected.get(ref), live.get(ref))
                    report.cases.append(CheckCase(name, str(ref), "parity", found))
