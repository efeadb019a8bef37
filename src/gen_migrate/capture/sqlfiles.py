"""Finding SQL migrations on disk, in the order their framework runs them.

A path is a single ``.sql`` file or a directory. A directory's layout is recognised from what it
holds, and every ``.sql`` file in it must fit that layout (a stray file is an error, never
silently left out):

- **Diesel** ``<version>_<name>/up.sql`` and **Prisma** ``<version>_<name>/migration.sql``:
  one folder per migration, in folder-name order (both tools sort by it). ``down.sql`` is ignored.
- **Flyway** ``V<version>__<name>.sql`` (``V1.2__x.sql``, ``V1_2__x.sql``): versioned files in
  numeric version order (``V2`` before ``V10``), then repeatable ``R__<name>.sql`` ones by name;
  undo files ``U<version>__*.sql`` are ignored.
- **golang-migrate** ``<version>_<name>.up.sql`` in numeric version order; ``.down.sql`` ignored.
- **plain** ``*.sql`` in natural order (``2_x.sql`` before ``10_x.sql``); the version is the
  leading number of the name when it has one, else the whole stem.

A migration's id is ``<version>_<name>`` with every run of characters outside
``[A-Za-z0-9_.-]`` replaced by ``_`` (the ``Migration.id`` pattern).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gen_migrate.errors import InputError

DIESEL = "diesel"
PRISMA = "prisma"
FLYWAY = "flyway"
GOLANG_MIGRATE = "golang-migrate"
PLAIN = "sql"

_GOLANG = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.up\.sql$")
_GOLANG_DOWN = re.compile(r"^\d+_.+\.down\.sql$")
_FLYWAY = re.compile(r"^V(?P<version>\d+(?:[._]\d+)*)__(?P<name>.+)\.sql$")
_FLYWAY_REPEATABLE = re.compile(r"^R__(?P<name>.+)\.sql$")
_FLYWAY_UNDO = re.compile(r"^U\d+(?:[._]\d+)*__.+\.sql$")
_FOLDER = re.compile(r"^(?P<version>[0-9][0-9\-]*)_(?P<name>.+)$")
_PLAIN = re.compile(r"^(?P<version>\d+)[_\-.]?(?P<name>.*)$")
_FOLDER_FILES = {"up.sql": DIESEL, "migration.sql": PRISMA}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class SqlMigration:
    """One app migration file: its version, name, path and the framework whose layout it is."""

    version: str
    name: str
    path: Path
    framework: str

    @property
    def id(self) -> str:
        """``<version>_<name>`` made safe for a generic migration id."""
        return migration_id(self.version, self.name)


def migration_id(version: str, name: str) -> str:
    """The generic id for a version and name: ``<version>_<name>``, sanitised."""
    raw = f"{version}_{name}" if name else version
    safe = _UNSAFE.sub("_", raw).strip("_.-")
    if not safe:
        raise InputError(f"cannot make a migration id from version {version!r}, name {name!r}")
    return safe


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``2_a`` before ``10_a``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part
    )


def _flyway_version(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"[._]", version))


def classify_file(path: Path) -> SqlMigration:
    """A single SQL file on its own: its layout is read from its name (and folder)."""
    name = path.name
    if _GOLANG_DOWN.match(name):
        raise InputError(f"{path}: a down migration; capture the matching .up.sql file")
    if name in _FOLDER_FILES:
        folder = _FOLDER.match(path.parent.name)
        if folder:
            return SqlMigration(folder["version"], folder["name"], path, _FOLDER_FILES[name])
    if m := _GOLANG.match(name):
        return SqlMigration(m["version"], m["name"], path, GOLANG_MIGRATE)
    if m := _FLYWAY.match(name):
        return SqlMigration(m["version"], m["name"], path, FLYWAY)
    if m := _FLYWAY_REPEATABLE.match(name):
        return SqlMigration("R", m["name"], path, FLYWAY)
    stem = name[:-4] if name.lower().endswith(".sql") else name
    if m := _PLAIN.match(stem):
        return SqlMigration(m["version"], m["name"], path, PLAIN)
    return SqlMigration(stem, "", path, PLAIN)


def _folders(directory: Path) -> list[SqlMigration]:
    found: list[SqlMigration] = []
    for sub in sorted((p for p in directory.iterdir() if p.is_dir()), key=lambda p: p.name):
        files = [f for f in _FOLDER_FILES if (sub / f).is_file()]
        if not files:
            continue
        folder = _FOLDER.match(sub.name)
        if folder is None:
            raise InputError(
                f"{sub}: migration folder name must be <version>_<name> (Diesel or Prisma layout)"
            )
        if len(files) > 1:
            raise InputError(f"{sub}: holds both up.sql and migration.sql; which layout is it?")
        found.append(
            SqlMigration(folder["version"], folder["name"], sub / files[0], _FOLDER_FILES[files[0]])
        )
    return found


def _stray(files: Iterable[Path], layout: str, hint: str) -> None:
    for f in files:
        raise InputError(f"{f}: does not fit the {layout} layout of its directory ({hint})")


def discover_dir(directory: Path) -> list[SqlMigration]:
    """The migrations of a directory in the order its framework runs them."""
    folders = _folders(directory)
    sql_files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".sql")
    if folders:
        _stray(sql_files, "Diesel/Prisma", "one <version>_<name>/ folder per migration")
        return folders
    names = [p.name for p in sql_files]
    if any(_FLYWAY.match(n) for n in names):
        versioned: list[SqlMigration] = []
        repeatable: list[SqlMigration] = []
        for p in sql_files:
            if m := _FLYWAY.match(p.name):
                versioned.append(SqlMigration(m["version"], m["name"], p, FLYWAY))
            elif m := _FLYWAY_REPEATABLE.match(p.name):
                repeatable.append(SqlMigration("R", m["name"], p, FLYWAY))
            elif not _FLYWAY_UNDO.match(p.name):
                _stray([p], "Flyway", "V<version>__<name>.sql")
        versioned.sort(key=lambda m: _flyway_version(m.version))
        _no_duplicate_versions(versioned, directory)
        return versioned + sorted(repeatable, key=lambda m: m.name)
    if any(n.endswith(".up.sql") for n in names):
        found: list[SqlMigration] = []
        for p in sql_files:
            if m := _GOLANG.match(p.name):
                found.append(SqlMigration(m["version"], m["name"], p, GOLANG_MIGRATE))
            elif not _GOLANG_DOWN.match(p.name):
                _stray([p], "golang-migrate", "<version>_<name>.up.sql")
        found.sort(key=lambda m: int(m.version))
        _no_duplicate_versions(found, directory)
        return found
    return [classify_file(p) for p in sorted(sql_files, key=lambda p: natural_key(p.name))]


def _no_duplicate_versions(found: Sequence[SqlMigration], directory: Path) -> None:
    seen: dict[str, Path] = {}
    for m in found:
        key = ".".join(str(n) for n in _flyway_version(m.version))
        if key in seen:
            raise InputError(f"{m.path}: version {m.version} is also used by {seen[key].name}")
        seen[key] = m.path


def discover(paths: Sequence[Path]) -> list[SqlMigration]:
    """Every migration under ``paths`` (files or directories), in the order given, then each
    directory's own order. Ids must be unique across the whole list."""
    found: list[SqlMigration] = []
    for path in paths:
        if path.is_dir():
            items = discover_dir(path)
            if not items:
                raise InputError(f"{path}: no SQL migrations found")
            found += items
        elif path.is_file():
            found.append(classify_file(path))
        else:
            raise InputError(f"{path}: no such file or directory")
    ids: dict[str, Path] = {}
    for m in found:
        if m.id in ids:
            raise InputError(f"{m.path}: migration id {m.id} is also the id of {ids[m.id]}")
        ids[m.id] = m.path
    return found
