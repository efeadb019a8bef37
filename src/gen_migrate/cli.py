"""The ``gen-migrate`` command line: wires config to library calls, nothing more.

Commands live in ``gen_migrate.commands.*`` and are imported only when run, so ``--help`` stays
fast. Every :class:`GenMigrateError` becomes one line on stderr (detail with ``--verbose``) and its
exit code; nothing else reaches the user as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from gen_migrate import __version__
from gen_migrate.errors import EXIT_FAILED, GenMigrateError

# name → (module:attribute, one-line help). Only commands that work are listed here.
COMMANDS: dict[str, tuple[str, str]] = {
    "capture": (
        "gen_migrate.commands.capture:capture",
        "Write generic migrations from SQL files or a live run.",
    ),
    "validate": (
        "gen_migrate.commands.files:validate",
        "Check generic files, their schema and the sum file.",
    ),
    "hash": ("gen_migrate.commands.files:hash_", "Rewrite generic_migrations/gen-migrate.sum."),
    "schema": (
        "gen_migrate.commands.files:schema",
        "Print the JSON Schema of the generic migration file.",
    ),
    "plan": (
        "gen_migrate.commands.deploy:plan",
        "Show the pending migrations of a phase and their steps.",
    ),
    "apply": (
        "gen_migrate.commands.deploy:apply",
        "Apply a phase to every target, then run -- COMMAND.",
    ),
    "status": (
        "gen_migrate.commands.deploy:status",
        "Applied/pending migrations, schema hash, drift per target.",
    ),
    "check": (
        "gen_migrate.commands.check:check",
        "Parity of generic files, Postgres and every store (CI).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gen-migrate")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="gen-migrate.toml or pyproject.toml (default: found from the working directory).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show details: skipped statements, error detail."
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """Keep ClickHouse and Iceberg copies of a Postgres database in step with its schema.

    Exit codes: 0 done or nothing to do, 1 a step failed, 2 refused by policy or bad input,
    3 lock timeout.
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    verbose = "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv)
    try:
        code = cli.main(args=argv, prog_name="gen-migrate", standalone_mode=False)
    except GenMigrateError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if verbose and exc.detail:
            click.echo(exc.detail, err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        click.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        if verbose:
            import traceback

            traceback.print_exc()
        sys.exit(EXIT_FAILED)
    sys.exit(code if isinstance(code, int) else 0)


def obj(ctx: click.Context) -> dict[str, Any]:
    """The root context's shared options."""
    root = ctx.find_root()
    data: dict[str, Any] = root.obj or {}
    return data
