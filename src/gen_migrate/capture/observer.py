"""The live observer as a context manager: install, let anything migrate, read, clean up, write.

    with observe(dsn, out=Path("generic_migrations")) as capture:
        command.upgrade(alembic_cfg, "head")      # or call_command("migrate"), or a subprocess
    print(capture.files)

Inside the block any client may run DDL against the database; what committed is captured when
the block ends, also when it ends with an exception (a failed third migration still leaves the
first two). The triggers and the private schema are removed in every case.

In an Alembic ``env.py``, wrap the whole online run, so its transaction commits inside the
block::

    with observe(url, out=Path("generic_migrations"), framework="alembic"):
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()

In a Django test runner or a pytest fixture, wrap ``call_command("migrate")`` the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from gen_migrate.capture import triggers
from gen_migrate.capture.build import BuildOptions, build_migrations
from gen_migrate.capture.catalog import introspect_schema
from gen_migrate.capture.events import build_events, group_units
from gen_migrate.capture.frameworks import (
    FRAMEWORK_CHOICES,
    bookkeeping,
    canonical,
    watched_tables,
)
from gen_migrate.config import Config
from gen_migrate.errors import InputError, RefusedError
from gen_migrate.generic.files import MigrationFile, append_to_sum, load_dir, write_migration
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.schema import Schema

PHASE_CHOICES = ("auto", "pre", "post")


@dataclass
class LiveCapture:
    """What one observed run produced (filled in when the ``with`` block ends)."""

    out: Path
    framework: str
    migrations: list[Migration] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version_tables: list[str] = field(default_factory=list)
    """Version tables that already existed when the observer started (qualified)."""


def _connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot connect to Postgres ({_where(dsn)}): {reason}") from None
    except psycopg.ProgrammingError as exc:
        raise InputError(f"invalid DSN {dsn!r}: {exc}") from None


def _where(dsn: str) -> str:
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "?"
    host = info.get("host") or "localhost"
    return (
        f"{info.get('user') or '?'}@{host}:{info.get('port') or 5432}/{info.get('dbname') or '?'}"
    )


def _require_superuser(conn: psycopg.Connection) -> None:
    if triggers.is_superuser(conn):
        return
    row = conn.execute("SELECT current_user").fetchone()
    user = row[0] if row else "?"
    raise RefusedError(
        f"role {user!r} is not a superuser: live capture installs event triggers, which only a "
        f"superuser may create. On the development database, run as a superuser "
        f'`ALTER ROLE "{user}" SUPERUSER;` or pass a --dsn that connects as one'
    )


def _clear_leftover(conn: psycopg.Connection, echo: Callable[[str], None]) -> None:
    found = triggers.find_leftover(conn)
    if found is None:
        return
    if found.running:
        raise RefusedError(
            f"another live capture is running on this database (session pid {found.backend_pid},"
            f" {found.describe()}): wait for it to finish"
        )
    triggers.remove(conn)
    echo(f"removed a leftover of an interrupted capture run: {found.describe()}")


def _catalog_before(conn: psycopg.Connection, config: Config) -> tuple[Schema, str | None]:
    """The captured tables as they are before the run (the starting point of tables that are in
    no generic file yet), or an empty schema and the reason it could not be read."""
    try:
        return introspect_schema(
            conn, config.source.schemas, config.tables.managed, overrides=config.types
        ), None
    except InputError as exc:
        return Schema(), f"cannot read the tables as they are before the run: {exc.message}"


def _existing(out: Path) -> list[MigrationFile]:
    if not out.exists():
        return []
    if not out.is_dir():
        raise InputError(f"{out}: not a directory")
    if not any(out.glob("*.json")) and not (out / "gen-migrate.sum").exists():
        return []
    return load_dir(out)


def _remove(conn: psycopg.Connection, dsn: str, echo: Callable[[str], None]) -> None:
    if not conn.closed:
        with suppress(psycopg.OperationalError, psycopg.InterfaceError):
            triggers.remove(conn, on_blocked=echo)
            return
    with _connect(dsn) as fresh:
        triggers.remove(fresh, on_blocked=echo)


@contextmanager
def observe(
    dsn: str,
    *,
    out: Path,
    framework: str = "auto",
    name: str | None = None,
    phase: str = "auto",
    config: Config | None = None,
    project: Path | None = None,
    echo: Callable[[str], None] = print,
    verbose: bool = False,
) -> Iterator[LiveCapture]:
    """Observe the database at ``dsn`` for the duration of the ``with`` block.

    ``framework``: ``auto`` (watch Rails, Alembic and Django version tables), one of them, or
    ``none`` (one file for the whole run, named by ``name`` or a timestamp). ``phase``: ``auto``
    (split by operations; a Rails ``db/post_migrate`` migration is ``post``), ``pre`` or
    ``post``. ``project`` is where app migration files are looked up (default: the working
    directory). Raises :class:`InputError` / :class:`RefusedError` before anything is installed
    when the input, the connection or the role does not fit.
    """
    framework = canonical(framework)
    if framework not in FRAMEWORK_CHOICES:
        raise InputError(f"--framework {framework!r}: one of {', '.join(FRAMEWORK_CHOICES)}")
    if phase not in PHASE_CHOICES:
        raise InputError(f"--phase {phase!r}: one of {', '.join(PHASE_CHOICES)}")
    cfg = config or Config()
    existing = _existing(out)
    started = time.gmtime()
    capture = LiveCapture(out=out, framework=framework)
    conn = _connect(dsn)
    try:
        _require_superuser(conn)
        _clear_leftover(conn, echo)
        watch = [(s, t) for s in cfg.source.schemas for t in watched_tables(framework)]
        before, seed_problem = _catalog_before(conn, cfg)
        capture.version_tables = triggers.install(conn, watch)
    except BaseException:
        conn.close()
        raise
    rows: list[dict[str, Any]] = []
    if seed_problem:
        capture.warnings.append(seed_problem)
        echo(f"warning: {seed_problem}")
    try:
        yield capture
    finally:
        try:
            rows = triggers.read_log(conn)
        finally:
            _remove(conn, dsn, echo)
            conn.close()
        _write(capture, rows, existing, before, started, cfg, name, phase, project, echo, verbose)


def _write(
    capture: LiveCapture,
    rows: Sequence[dict[str, Any]],
    existing: Sequence[MigrationFile],
    before: Schema,
    started: time.struct_time,
    config: Config,
    name: str | None,
    phase: str,
    project: Path | None,
    echo: Callable[[str], None],
    verbose: bool,
) -> None:
    groups = group_units(build_events(rows))

    def warn(message: str) -> None:
        capture.warnings.append(message)
        echo(f"warning: {message}")

    options = BuildOptions(
        framework=capture.framework,
        name=name,
        phase=phase,
        config=config,
        project=project or Path.cwd(),
        started=time.strftime("%Y%m%d%H%M%S", started),
        bookkeeping=bookkeeping(capture.framework),
        note=echo if verbose else None,
        before=before,
    )
    capture.migrations = build_migrations(groups, existing, options, warn)
    written = [write_migration(capture.out, m) for m in capture.migrations]
    if written:
        append_to_sum(capture.out, [p.name for p in written])
    capture.files = written
    for path, migration in zip(written, capture.migrations, strict=True):
        echo(f"wrote {path} ({len(migration.operations)} operation(s), {migration.phase})")
    if not written:
        echo("no schema change of a captured table: nothing written")
