"""``check``: do the generic files, Postgres and every store agree?

Exit codes: 0 everything agrees, 1 something differs, 2 bad input, 3 lock timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gen_migrate.cli import obj
from gen_migrate.config import load_config
from gen_migrate.errors import EXIT_FAILED


@click.command()
@click.option("--json", "json_output", is_flag=True, help="Machine-readable report.")
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML here (one test case per table per store).",
)
@click.option("--target", "targets", multiple=True, metavar="NAME", help="Only this target.")
@click.option("--lock-timeout", type=float, default=600.0, show_default=True, metavar="SECONDS")
@click.pass_context
def check(
    ctx: click.Context,
    json_output: bool,
    junit: Path | None,
    targets: tuple[str, ...],
    lock_timeout: float,
) -> int:
    """Capture completeness, store parity and integrity; exit 0 only when all agree."""
    from gen_migrate.check.report import render_table, to_junit
    from gen_migrate.check.runner import run_check

    config = load_config(obj(ctx).get("config_path"))
    report = run_check(config, targets, lock_timeout)
    if junit is not None:
        junit.write_text(to_junit(report), encoding="utf-8")
    if json_output:
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        click.echo(render_table(report), nl=False)
    return 0 if report.ok else EXIT_FAILED
