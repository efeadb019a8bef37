"""``validate``, ``hash`` and ``schema``: the generic files themselves."""

from __future__ import annotations

import json

import click

from gen_migrate.cli import obj
from gen_migrate.config import load_config
from gen_migrate.errors import EXIT_REFUSED
from gen_migrate.generic.files import validate_dir, write_sum
from gen_migrate.generic.migration import Migration


@click.command()
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False), help="Generic migrations directory."
)
@click.pass_context
def validate(ctx: click.Context, directory: str | None) -> int:
    """Check every generic file, its schema and the sum file; name the file and JSON path of
    every problem."""
    config = load_config(obj(ctx).get("config_path"))
    path = config.migrations_dir if directory is None else config.root / directory
    loaded, problems = validate_dir(path)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
        return EXIT_REFUSED
    click.echo(f"ok: {len(loaded)} migration(s) in {path}, sum file matches")
    return 0


@click.command("hash")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False), help="Generic migrations directory."
)
@click.pass_context
def hash_(ctx: click.Context, directory: str | None) -> int:
    """Rewrite gen-migrate.sum from the files on disk (new files go last, by name)."""
    config = load_config(obj(ctx).get("config_path"))
    path = config.migrations_dir if directory is None else config.root / directory
    if not path.is_dir():
        from gen_migrate.errors import InputError

        raise InputError(f"{path}: no such directory")
    written = write_sum(path)
    click.echo(f"wrote {written}")
    return 0


@click.command()
def schema() -> int:
    """Print the JSON Schema of the generic migration file (format 1)."""
    click.echo(json.dumps(Migration.model_json_schema(by_alias=True), indent=2, sort_keys=True))
    return 0
