"""The strongest check of capture from SQL: real migration histories, run and normalised.

For each history, every migration file is executed statement by statement on a throwaway
database of the real Postgres, and the same text is normalised into generic migrations. After
every migration file the replayed generic migrations must equal the schema introspected from
the catalog, for every table (columns, generic types, nullability): the catalog is read after
each file has run, the whole history is normalised as one capture run, and the generic migrations
are replayed file by file (pre and post halves) against those snapshots. At the end the generic
files are written, validated, loaded back and replayed, and must give the final schema again.

Histories (from ``../shared/corpus/migrations/``), picked because every statement of them runs on
plain Postgres 15 with its contrib extensions and no other set-up, and because every DO block in
them can be read without running it:

- crates.io (285 Diesel migrations): extensions ltree/pg_trgm/pgcrypto, a composite type used as
  a column for a while, serials, arrays, many renames and retypes. Its config declares the two
  types the generic model cannot know: ``ltree`` and the composite ``semver_triple`` as strings.
- documenso (163 Prisma migrations): quoted CamelCase identifiers, 30 enums with ADD/RENAME VALUE,
  enum arrays, ``timestamp(3)``, ``numeric(65,30)``, drop-and-recreate of tables.

Not picked: harbor (two statements fail: they alter golang-migrate's own ``schema_migrations``
table, which the history never creates), lemmy (96 statements fail on 15: ``CREATE TABLE … AS``
with an unaliased subquery is Postgres 16 syntax), supabase auth (needs the ``auth`` schema made
outside the history; with it made, the history runs, but a DO block at line 902 runs dynamic SQL
through EXECUTE, which only live capture can follow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pglast
import psycopg
import pytest

from gen_migrate.capture.catalog import introspect_schema
from gen_migrate.capture.from_sql import SqlUnit, normalize_units, write_captured
from gen_migrate.capture.sqlfiles import classify_file
from gen_migrate.generic.compare import diff_schemas, diff_types
from gen_migrate.generic.files import load_dir, validate_dir
from gen_migrate.generic.schema import Schema, replay

_MARK = re.compile(r"^-- migration file: (?P<path>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class History:
    file: str
    types: dict[str, str]
    migrations: int


HISTORIES = {
    "crates-io": History("crates-io.sql", {"ltree": "string", "semver_triple": "string"}, 285),
    "documenso": History("documenso-prisma.sql", {}, 163),
}


def split_history(path: Path) -> list[SqlUnit]:
    """One unit per ``-- migration file:`` section, line numbers those of the corpus file."""
    text = path.read_text(encoding="utf-8")
    marks = list(_MARK.finditer(text))
    units = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        units.append(
            SqlUnit(
                classify_file(Path(mark["path"])),
                text[mark.start() : end],
                path.as_posix(),
                line_offset=text.count("\n", 0, mark.start()),
            )
        )
    return units


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_history_replay_equals_catalog(
    name: str, corpus: Path, pg_dsn: str, tmp_path: Path
) -> None:
    history = HISTORIES[name]
    units = split_history(corpus / "migrations" / history.file)
    assert len(units) == history.migrations
    snapshots: list[Schema] = []
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for unit in units:
            for statement in pglast.split(unit.text):
                conn.execute(statement)
            snapshots.append(introspect_schema(conn, overrides=history.types))
    final = snapshots[-1]

    captured = normalize_units(units, Schema(), types=history.types, unsplittable="pre")
    replayed_so_far = Schema()
    for item, live in zip(captured, snapshots, strict=True):
        for migration in item.migrations:
            replayed_so_far.apply_all(migration.operations)
        diff = diff_schemas(replayed_so_far, live) + diff_types(replayed_so_far, live)
        where = f"{item.unit.migration.path} (line {item.unit.line_offset + 1})"
        assert not diff, f"after {where}:\n" + "\n".join(diff)

    out = tmp_path / "generic_migrations"
    report = write_captured(out, captured)
    loaded, problems = validate_dir(out)
    assert problems == []
    replayed = replay(mf.migration.operations for mf in load_dir(out))
    assert diff_schemas(replayed, final) == []
    assert diff_types(replayed, final) == []
    assert set(replayed.tables) == set(final.tables)
    assert len(loaded) == len(report.written)
    counts = {
        kind: sum(1 for c in captured for o in c.result.outcomes if o.kind == kind)
        for kind in ("normalized", "skipped", "error")
    }
    print(
        f"{name}: {len(units)} migrations, {len(loaded)} generic files, "
        f"{len(final.tables)} tables, statements {counts}"
    )
