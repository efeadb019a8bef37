"""A small example project for the deploy tests: a 10-migration history of an issue tracker
(both phases, every kind of table change a deploy meets), written as real generic files with a
sum file, plus helpers to run the CLI and read a Postgres target back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from gen_migrate.generic.files import append_to_sum, write_migration
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    DropColumn,
    Operation,
    RenameColumn,
    TableRef,
)
from gen_migrate.generic.safety import Safety
from gen_migrate.generic.types import t

ISSUES = TableRef(name="issues")
NOTES = TableRef(name="notes")
PROJECTS = TableRef(name="projects")

BIGINT = t("int64", pg="bigint")
TEXT = t("string", pg="text")


def migration(mid: str, phase: str, statements: list[str], ops: list[Operation]) -> Migration:
    """A generic migration of the ``sql`` framework whose version is the id's prefix."""
    version = mid.split("_", 1)[0]
    return Migration.model_validate(
        {
            "id": mid,
            "phase": phase,
            "source": Source(framework="sql", version=version, statements=statements),
            "operations": ops,
        }
    )


def history() -> list[Migration]:
    """Ten migrations: 8 pre, 2 post (a post one in the middle, one at the end)."""
    return [
        migration(
            "0001_create_projects",
            "pre",
            ["CREATE TABLE projects (id bigint PRIMARY KEY, name text NOT NULL)"],
            [
                CreateTable(
                    table=PROJECTS,
                    columns=[
                        Column(name="id", type=BIGINT, nullable=False),
                        Column(name="name", type=TEXT, nullable=False),
                    ],
                    primary_key=["id"],
                )
            ],
        ),
        migration(
            "0002_create_issues",
            "pre",
            [
                "CREATE TABLE issues (id bigint PRIMARY KEY, project_id bigint, title text,"
                " weight integer)"
            ],
            [
                CreateTable(
                    table=ISSUES,
                    columns=[
                        Column(name="id", type=BIGINT, nullable=False),
                        Column(name="project_id", type=BIGINT),
                        Column(name="title", type=TEXT),
                        Column(name="weight", type=t("int32", pg="integer")),
                    ],
                    primary_key=["id"],
                )
            ],
        ),
        migration(
            "0003_add_issue_state",
            "pre",
            ["ALTER TABLE issues ADD COLUMN state text"],
            [AddColumn(table=ISSUES, column=Column(name="state", type=TEXT))],
        ),
        migration(
            "0004_create_notes",
            "pre",
            ["CREATE TABLE notes (id bigint PRIMARY KEY, issue_id bigint, body text)"],
            [
                CreateTable(
                    table=NOTES,
                    columns=[
                        Column(name="id", type=BIGINT, nullable=False),
                        Column(name="issue_id", type=BIGINT),
                        Column(name="body", type=TEXT),
                    ],
                    primary_key=["id"],
                )
            ],
        ),
        migration(
            "0005_widen_issue_weight",
            "pre",
            ["ALTER TABLE issues ALTER COLUMN weight TYPE bigint"],
            [
                AlterColumnType(
                    table=ISSUES,
                    column="weight",
                    old_type=t("int32", pg="integer"),
                    new_type=BIGINT,
                    safety=Safety.WIDENING,
                )
            ],
        ),
        migration(
            "0006_rename_note_body",
            "pre",
            ["ALTER TABLE notes RENAME COLUMN body TO note"],
            [RenameColumn(table=NOTES, column="body", new_name="note")],
        ),
        migration(
            "0007_add_project_path",
            "pre",
            ["ALTER TABLE projects ADD COLUMN path text"],
            [AddColumn(table=PROJECTS, column=Column(name="path", type=TEXT))],
        ),
        migration(
            "0008_drop_issue_state",
            "post",
            ["ALTER TABLE issues DROP COLUMN state"],
            [DropColumn(table=ISSUES, column="state", type=TEXT)],
        ),
        migration(
            "0009_add_note_created_at",
            "pre",
            ["ALTER TABLE notes ADD COLUMN created_at timestamp with time zone"],
            [
                AddColumn(
                    table=NOTES,
                    column=Column(
                        name="created_at", type=t("timestamptz", pg="timestamp with time zone")
                    ),
                )
            ],
        ),
        migration(
            "0010_drop_project_path",
            "post",
            ["ALTER TABLE projects DROP COLUMN path"],
            [DropColumn(table=PROJECTS, column="path", type=TEXT)],
        ),
    ]


def write_project(
    root: Path,
    *,
    source_dsn: str | None,
    targets: str = "",
    migrations: Sequence[Migration] | None = None,
) -> Path:
    """A project folder: gen-migrate.toml, generic_migrations/ with a sum file."""
    root.mkdir(parents=True, exist_ok=True)
    toml = ""
    if source_dsn:
        toml += f'[source]\ndsn = "{source_dsn}"\n'
    toml += targets
    (root / "gen-migrate.toml").write_text(toml)
    directory = root / "generic_migrations"
    names = [write_migration(directory, m).name for m in (migrations or history())]
    append_to_sum(directory, names)
    return root


PG_TARGET = '[targets.pg]\ntype = "postgres"\n'


def cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``gen-migrate ARGS`` in ``root`` as a separate process."""
    env = {k: v for k, v in os.environ.items() if k != "GEN_MIGRATE_SOURCE_DSN"}
    return subprocess.run(
        [sys.executable, "-m", "gen_migrate", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def pg_snapshot(dsn: str) -> dict[str, Any]:
    """Columns of every user table and the state rows (without timestamps) of a database."""
    with psycopg.connect(dsn) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, column_name"
        ).fetchall()
        has_state = conn.execute("SELECT to_regclass('public.gen_migrate_migrations')").fetchone()
        state = []
        if has_state and has_state[0]:
            state = conn.execute(
                "SELECT target, migration_id, step, checksum, complete FROM gen_migrate_migrations"
                " ORDER BY target, migration_id, step"
            ).fetchall()
    return {"columns": cols, "state": state}
