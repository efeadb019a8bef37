"""``plan``, ``apply`` and ``status``: the deploy step.

Exit codes: 0 done or nothing to do (or the COMMAND's own code), 1 a step failed, 2 refused by
policy or bad input, 3 lock timeout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from gen_migrate.cli import obj
from gen_migrate.config import load_config
from gen_migrate.errors import GenMigrateError

_phase = click.option(
    "--phase", type=click.Choice(["pre", "post"]), required=True, help="Deploy phase to run."
)
_targets = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Only this target (repeatable). `postgres` without a [targets.postgres] table means "
    "the source database itself.",
)
_json = click.option("--json", "json_output", is_flag=True, help="Machine-readable report.")
_lock_timeout = click.option(
    "--lock-timeout",
    type=float,
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another deployer's lock.",
)
_out_of_order = click.option(
    "--allow-out-of-order",
    is_flag=True,
    help="Run migrations even when an older one of the other phase is still pending.",
)


def _json_errors(json_output: bool, run: Callable[[], int]) -> int:
    """With ``--json``, an error is also a JSON document on stdout (then the usual line)."""
    try:
        return run()
    except GenMigrateError as exc:
        if json_output:
            click.echo(json.dumps({"error": exc.message, "exit_code": exc.exit_code}))
        raise


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.command()
@_phase
@_targets
@_json
@_lock_timeout
@_out_of_order
@click.pass_context
def plan(
    ctx: click.Context,
    phase: str,
    targets: tuple[str, ...],
    json_output: bool,
    lock_timeout: float,
    allow_out_of_order: bool,
) -> int:
    """Show, per target, the pending migrations of PHASE and the exact steps; change nothing."""
    from gen_migrate.deploy.report import render_plan
    from gen_migrate.deploy.runner import DeployOptions
    from gen_migrate.deploy.runner import plan as run_plan

    config = load_config(obj(ctx).get("config_path"))
    options = DeployOptions(
        phase="pre" if phase == "pre" else "post",
        targets=targets,
        lock_timeout=lock_timeout,
        allow_out_of_order=allow_out_of_order,
    )

    def run() -> int:
        report = run_plan(config, options)
        if json_output:
            _echo_json(report.to_dict())
        else:
            click.echo(render_plan(report), nl=False)
            if report.exit_code:
                click.echo(f"error: {report.message}", err=True)
        return report.exit_code

    return _json_errors(json_output, run)


@click.command(context_settings={"ignore_unknown_options": False})
@_phase
@_targets
@click.option("--dry-run", is_flag=True, help="Plan only: show what would run, change nothing.")
@_json
@_lock_timeout
@_out_of_order
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND...]")
@click.pass_context
def apply(
    ctx: click.Context,
    phase: str,
    targets: tuple[str, ...],
    dry_run: bool,
    json_output: bool,
    lock_timeout: float,
    allow_out_of_order: bool,
    command: tuple[str, ...],
) -> int:
    """Apply the pending PHASE migrations to every target, then run COMMAND (after `--`) if
    every target succeeded, returning its exit code."""
    from gen_migrate.deploy.report import make_progress, render_plan
    from gen_migrate.deploy.runner import DeployOptions
    from gen_migrate.deploy.runner import apply as run_apply

    config = load_config(obj(ctx).get("config_path"))
    options = DeployOptions(
        phase="pre" if phase == "pre" else "post",
        targets=targets,
        dry_run=dry_run,
        allow_out_of_order=allow_out_of_order,
        lock_timeout=lock_timeout,
        command=command,
        command_to_stderr=json_output,
    )

    def run() -> int:
        report = run_apply(config, options, None if dry_run else make_progress(json_output))
        if json_output:
            _echo_json(report.to_dict())
        elif dry_run:
            click.echo(render_plan(report), nl=False)
            if report.exit_code:
                click.echo(f"error: {report.message}", err=True)
        return report.exit_code

    return _json_errors(json_output, run)


@click.command()
@_targets
@_json
@_lock_timeout
@click.pass_context
def status(
    ctx: click.Context, targets: tuple[str, ...], json_output: bool, lock_timeout: float
) -> int:
    """Per target: applied and pending migrations, last applied, schema hash, drift flag."""
    from gen_migrate.deploy.report import render_status
    from gen_migrate.deploy.runner import status as run_status

    config = load_config(obj(ctx).get("config_path"))

    def run() -> int:
        statuses = run_status(config, targets, lock_timeout)
        if json_output:
            _echo_json({"targets": [s.to_dict() for s in statuses]})
        else:
            click.echo(render_status(statuses), nl=False)
        return 0

    return _json_errors(json_output, run)
