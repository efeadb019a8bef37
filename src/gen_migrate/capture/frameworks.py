"""What live capture knows about migration frameworks: their version tables, their bookkeeping
tables, and how a version marker (the row a framework writes after a migration) becomes the id,
name, file and phase of the app migration it closes.

A marker closes the group of DDL before it. Frameworks that write a row *before* a migration too
(golang-migrate's ``dirty`` row, Prisma's unfinished row) close an empty group there, which
writes nothing.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

FRAMEWORK_CHOICES: tuple[str, ...] = (
    "auto", "rails", "alembic", "django", "golang-migrate", "flyway", "diesel", "prisma", "none",
)  # fmt: skip
"""``--framework`` values; ``sql`` is accepted as another name for ``none``."""

VERSION_TABLES: dict[str, str] = {
    "rails": "schema_migrations",
    "alembic": "alembic_version",
    "django": "django_migrations",
    "golang-migrate": "schema_migrations",
    "flyway": "flyway_schema_history",
    "diesel": "__diesel_schema_migrations",
    "prisma": "_prisma_migrations",
}
"""The table each framework writes a row into (or updates) per migration."""

BOOKKEEPING_TABLES: dict[str, frozenset[str]] = {
    "rails": frozenset({"schema_migrations", "ar_internal_metadata"}),
    **{f: frozenset({t}) for f, t in VERSION_TABLES.items() if f != "rails"},
}
"""The framework's own tables: never part of a generic migration."""

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class AppMigration:
    """One app migration as its framework names it."""

    framework: str
    version: str
    name: str | None = None
    file: str | None = None
    post: bool = False
    """True for a Rails ``db/post_migrate`` migration: phase ``post`` whatever its operations."""

    @property
    def id(self) -> str:
        """The generic file's id: the version, plus the name when the version does not hold it."""
        base = self.version
        if self.name and self.framework != "django":
            base = f"{self.version}_{self.name}"
        return safe_id(base)


def safe_id(text: str) -> str:
    """``text`` reduced to what a generic migration id may hold."""
    cleaned = _ID_UNSAFE.sub("_", text).strip("_.-")
    return cleaned or "capture"


def canonical(choice: str) -> str:
    """``sql`` is another name for ``none``."""
    return "none" if choice == "sql" else choice


def watched_tables(choice: str) -> list[str]:
    """Version tables to put row triggers on for a ``--framework`` choice."""
    if choice == "none":
        return []
    if choice == "auto":
        return list(dict.fromkeys(VERSION_TABLES.values()))
    return [VERSION_TABLES[choice]]


def bookkeeping(choice: str) -> frozenset[str]:
    """Table names that belong to the framework(s) of a choice (all of them for ``auto``)."""
    if choice in BOOKKEEPING_TABLES:
        return BOOKKEEPING_TABLES[choice]
    if choice == "auto":
        return frozenset().union(*BOOKKEEPING_TABLES.values())
    return frozenset()


def framework_of(table: str, row: Mapping[str, object], choice: str = "auto") -> str | None:
    """The framework whose version table ``schema.table`` is (told apart by the row's columns
    where two share a name)."""
    name = table.rpartition(".")[2]
    if choice in VERSION_TABLES:
        return choice if VERSION_TABLES[choice] == name else None
    if name == "schema_migrations":
        return "golang-migrate" if "dirty" in row else "rails"
    for framework, version_table in VERSION_TABLES.items():
        if version_table == name:
            return framework
    return None


def resolve(framework: str, row: Mapping[str, object], project: Path) -> AppMigration:
    """The app migration a version-marker row names, with its file found under ``project``."""
    return _RESOLVERS[framework](row, project)


def _rel(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return path.as_posix()


def _rails(row: Mapping[str, object], project: Path) -> AppMigration:
    version = str(row.get("version", ""))
    for folder, post in (("db/migrate", False), ("db/post_migrate", True)):
        for path in sorted((project / folder).glob(f"{version}_*.rb")):
            name = path.stem[len(version) + 1 :]
            return AppMigration("rails", version, name, _rel(path, project), post)
    return AppMigration("rails", version)


def _alembic_versions_dirs(project: Path) -> list[Path]:
    dirs: list[Path] = []
    ini = project / "alembic.ini"
    if ini.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(ini, encoding="utf-8")
        except configparser.Error:
            parser = configparser.ConfigParser(interpolation=None)
        location = parser.get("alembic", "script_location", fallback="alembic")
        location = location.replace("%(here)s", str(project))
        script = Path(location) if Path(location).is_absolute() else project / location
        dirs.append(script / "versions")
        extra = parser.get("alembic", "version_locations", fallback="")
        for item in re.split(r"[\s,;:]+", extra.replace("%(here)s", str(project))):
            if item:
                dirs.append(Path(item) if Path(item).is_absolute() else project / item)
    dirs.append(project / "alembic" / "versions")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


_REVISION = r"^revision\s*(?::\s*str\s*)?=\s*['\"]{rev}['\"]"
_DOC = re.compile(r'^\s*(?:"""|\'\'\')\s*(.+?)\s*$', re.MULTILINE)


def _alembic(row: Mapping[str, object], project: Path) -> AppMigration:
    revision = str(row.get("version_num", ""))
    pattern = re.compile(_REVISION.format(rev=re.escape(revision)), re.MULTILINE)
    for folder in _alembic_versions_dirs(project):
        for path in sorted(folder.glob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if not pattern.search(text):
                continue
            stem = path.stem
            if stem.startswith(revision):
                name = stem[len(revision) :].lstrip("_") or None
            else:
                doc = _DOC.search(text)
                name = _slug(doc.group(1)) if doc else None
            return AppMigration("alembic", revision, name, _rel(path, project))
    return AppMigration("alembic", revision)


def _slug(text: str) -> str | None:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40].rstrip("_")
    return slug or None


def _django(row: Mapping[str, object], project: Path) -> AppMigration:
    app, name = str(row.get("app", "")), str(row.get("name", ""))
    version = f"{app}.{name}"
    candidates = [project / app / "migrations" / f"{name}.py"]
    candidates += sorted(project.glob(f"*/{app}/migrations/{name}.py"))
    for path in candidates:
        if path.is_file():
            return AppMigration("django", version, name, _rel(path, project))
    return AppMigration("django", version, name)


def _find(project: Path, pattern: str) -> Path | None:
    """The first match of ``pattern`` in ``project`` or up to three folders below it."""
    for depth in range(4):
        found = sorted(project.glob("*/" * depth + pattern))
        if found:
            return found[0]
    return None


def _golang(row: Mapping[str, object], project: Path) -> AppMigration:
    version = str(row.get("version", ""))
    path = _find(project, f"{version}_*.up.sql")
    if path is None:
        return AppMigration("golang-migrate", version)
    name = path.name[len(version) + 1 : -len(".up.sql")]
    return AppMigration("golang-migrate", version, name, _rel(path, project))


def _flyway(row: Mapping[str, object], project: Path) -> AppMigration:
    version = row.get("version")
    description = str(row.get("description") or "")
    script = row.get("script")
    path = _find(project, str(script)) if script else None
    return AppMigration(
        "flyway",
        str(version) if version is not None else "R",
        _slug(description),
        _rel(path, project) if path else (str(script) if script else None),
    )


def _diesel(row: Mapping[str, object], project: Path) -> AppMigration:
    version = str(row.get("version", ""))
    path = _find(project, f"{version}_*/up.sql")
    if path is None:
        return AppMigration("diesel", version)
    name = path.parent.name[len(version) + 1 :]
    return AppMigration("diesel", version, name, _rel(path, project))


def _prisma(row: Mapping[str, object], project: Path) -> AppMigration:
    full = str(row.get("migration_name", ""))
    version, _, name = full.partition("_")
    path = _find(project, f"{full}/migration.sql")
    return AppMigration("prisma", version, name or None, _rel(path, project) if path else None)


_RESOLVERS: dict[str, Callable[[Mapping[str, object], Path], AppMigration]] = {
    "rails": _rails,
    "alembic": _alembic,
    "django": _django,
    "golang-migrate": _golang,
    "flyway": _flyway,
    "diesel": _diesel,
    "prisma": _prisma,
}
