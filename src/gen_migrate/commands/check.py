"""``check``: do the generic files, Postgres and every store agree?

Exit codes: 0 everything agrees, 1 drift found (a difference, an edited file, a changed applied
migration) or a store that cannot be read, 2 bad input (configuration, unknown target, a
generic file that cannot be read), 3 lock timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gen_migrate.cli import obj
from gen_migrate.config import load_config


@click.command()
@click.option("--json", "json_output", is_flag=True, help="Machine-readable report on stdout.")
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here (one test case per table per store).",
)
@click.option(
    "--target", "targets", multiple=True, metavar="NAME", help="Only this target (repeatable)."
)
@click.option(
    "--stores-only",
    is_flag=True,
    help="Skip capture completeness; compare stores with the schema the generic files describe.",
)
@click.option("--lock-timeout", type=float, default=600.0, show_default=True, metavar="SECONDS")
@click.pass_context
def check(
    ctx: click.Context,
    json_output: bool,
    junit: Path | None,
    targets: tuple[str, ...],
    stores_only: bool,
    lock_timeout: float,
) -> int:
    """Capture completeness, store parity and integrity; exit 0 only when all agree.

    Without a [source] dsn (or with --stores-only) the stores are compared with the schema the
    generic files describe. The table lists failing cases; -v lists every case.

    Exit codes: 0 everything agrees, 1 drift found (or a store cannot be read), 2 bad input
    (configuration, unknown target, an unreadable generic file), 3 lock timeout.
    """
    from gen_migrate.check.report import print_table, to_junit
    from gen_migrate.check.runner import CheckOptions, run_check

    config = load_config(obj(ctx).get("config_path"))
    options = CheckOptions(targets=targets, stores_only=stores_only, lock_timeout=lock_timeout)
    report = run_check(config, options)
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(to_junit(report), encoding="utf-8")
    if json_output:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print_table(report, all_cases=bool(obj(ctx).get("verbose")))
    return report.exit_code
