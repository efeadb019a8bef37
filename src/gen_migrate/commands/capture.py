"""``capture``: write generic migrations from SQL files, or from a live run of any migrate command.

``gen-migrate capture --sql PATH… [--out DIR] [--name NAME] [--phase auto|pre|post]``
``gen-migrate capture [--dsn DSN] [--framework F] [--out DIR] [--phase …] -- COMMAND…``
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from gen_migrate.cli import obj
from gen_migrate.config import load_config
from gen_migrate.errors import InputError

PHASES = ("auto", "pre", "post")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--sql",
    "sql_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="SQL migration file or directory (repeatable; more paths may follow).",
)
@click.option(
    "--dsn", help="Live capture: the dev database the COMMAND migrates (default: [source] dsn)."
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Generic migrations directory (default: [migrations] dir).",
)
@click.option("--name", help="Name part of the id, for a single migration.")
@click.option(
    "--phase",
    type=click.Choice(PHASES),
    default="auto",
    show_default=True,
    help="auto: additive operations pre, drops post (a mixed migration is split).",
)
@click.option(
    "--framework",
    default="auto",
    show_default=True,
    help="Live capture: whose version table marks each migration "
    "(auto, rails, alembic, django, none).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def capture(
    ctx: click.Context,
    sql_paths: tuple[Path, ...],
    dsn: str | None,
    out: Path | None,
    name: str | None,
    phase: str,
    framework: str,
    args: tuple[str, ...],
) -> int:
    """Write one generic migration per app migration.

    \b
    From SQL:  gen-migrate capture --sql db/migrations/ [--out DIR]
    Live:      gen-migrate capture --dsn postgresql://… -- bin/rails db:migrate
    """
    shared = obj(ctx)
    verbose = bool(shared.get("verbose"))
    config = load_config(shared.get("config_path"))
    out_dir = config.migrations_dir if out is None else out
    if sql_paths:
        if dsn is not None:
            raise InputError("--sql and --dsn are two ways to capture: use one of them")
        return _from_sql(
            [*sql_paths, *map(Path, args)], out_dir, name, phase, config.root, config.types, verbose
        )
    if not args:
        raise InputError(
            "nothing to capture: pass --sql PATH… (SQL migration files or directories) or "
            "--dsn DSN -- COMMAND… (a migrate command to observe)"
        )
    live_dsn = dsn or config.source.dsn
    if not live_dsn:
        raise InputError("live capture needs a database: pass --dsn DSN or set [source] dsn")
    try:
        from gen_migrate.capture.live import run_live_capture
    except ImportError:
        raise InputError(
            "live capture (--dsn … -- COMMAND) is not available in this build"
        ) from None
    return run_live_capture(
        live_dsn,
        list(args),
        out=out_dir,
        framework=framework,
        name=name,
        phase=phase,
        config=config,
        verbose=verbose,
        echo=click.echo,
    )


def _from_sql(
    paths: list[Path],
    out: Path,
    name: str | None,
    phase: str,
    root: Path,
    types: dict[str, str],
    verbose: bool,
) -> int:
    from gen_migrate.capture.from_sql import capture_sql, display_path
    from gen_migrate.generic.phase import PhaseChoice

    report = capture_sql(
        paths, out, root=root, name=name, phase=cast(PhaseChoice, phase), types=types
    )
    written = set(report.written)
    cwd = Path.cwd()
    for item in report.captured:
        if verbose:
            for outcome in item.skipped:
                click.echo(f"skipped {outcome.message()}")
        if not item.migrations:
            click.echo(f"nothing to write for {item.unit.file}: no statement changes a table")
        for migration in item.migrations:
            path = out / f"{migration.id}.json"
            what = "wrote" if path in written else "unchanged"
            shown = display_path(path, cwd)
            click.echo(
                f"{what} {shown} ({len(migration.operations)} operation(s), {migration.phase})"
            )
    for path in report.removed:
        click.echo(f"removed {display_path(path, cwd)} (its migration no longer produces it)")
    click.echo(
        f"{len(report.captured)} SQL migration(s): {len(report.written)} file(s) written, "
        f"{len(report.unchanged)} unchanged, {len(report.empty)} without table changes"
    )
    return 0
