"""Capture from SQL files: one generic migration per app migration file.

The whole run is normalised before anything is written, so a statement that cannot be normalised
(or a migration whose phases cannot be split) leaves the output directory exactly as it was.

Order of knowledge: the generic files already in the output directory are replayed first (in the
sum file's order) so that a later SQL file knows the columns it drops, renames or retypes. When
a run re-captures migrations that already have generic files, the replay stops before the first
of them: those files are rebuilt from their SQL, and each is rewritten only when its content
changed (it keeps its place in the sum file). Before writing, the whole set as it will be is
replayed once more, so a re-capture that breaks a later existing file is refused.

The files of one run are normalised as one text, in order, so what an earlier file made beyond
the table model (an index that a later ``PRIMARY KEY USING INDEX`` names, a view, a partition) is
known to the later files. Across runs it is not: generic files record tables and types only.

A file whose statements produce no operations at all (only indexes, grants, data changes, …) writes
nothing. Type definitions (``define_type``) do count: later migrations resolve enum and domain
names through them when the set is replayed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gen_migrate.capture.normalize import (
    NormalizeError,
    NormalizeResult,
    Outcome,
    fold_swaps,
    normalize_sql,
)
from gen_migrate.capture.sqlfiles import SqlMigration, discover, migration_id
from gen_migrate.errors import InputError
from gen_migrate.generic.files import (
    MigrationFile,
    append_to_sum,
    load_dir,
    write_migration,
    write_sum,
)
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.phase import POST_SUFFIX, PhaseChoice, split_by_phase
from gen_migrate.generic.schema import ReplayError, Schema


@dataclass(frozen=True)
class SqlUnit:
    """The text of one app migration and where it came from.

    ``file`` is how messages and ``Source.file`` name it; ``line_offset`` is added to line
    numbers (for a migration that is a section of a bigger file).
    """

    migration: SqlMigration
    text: str
    file: str
    line_offset: int = 0


@dataclass
class Captured:
    """One unit normalised: its result and the generic migrations it makes (none when empty)."""

    unit: SqlUnit
    result: NormalizeResult
    migrations: list[Migration]

    @property
    def skipped(self) -> list[Outcome]:
        """Statements skipped, each with its reason."""
        return [o for o in self.result.outcomes if o.kind == "skipped"]


@dataclass
class CaptureReport:
    """What a capture run did to the output directory."""

    captured: list[Captured] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> list[SqlUnit]:
        """Units that produced no operations (nothing written for them)."""
        return [c.unit for c in self.captured if not c.migrations]


def read_unit(migration: SqlMigration, root: Path | None = None) -> SqlUnit:
    """Read a discovered migration's text; ``file`` is relative to ``root`` when inside it."""
    try:
        text = migration.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{migration.path}: cannot read: {exc}") from None
    return SqlUnit(migration, text, display_path(migration.path, root))


def display_path(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` (POSIX separators) when inside it, else as given."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def baseline(existing: Sequence[MigrationFile], recaptured: set[str]) -> Schema:
    """The schema of the existing files before the first one that is being re-captured."""
    schema = Schema()
    for mf in existing:
        mid = mf.migration.id.removesuffix(POST_SUFFIX)
        if mid in recaptured:
            break
        schema.apply_all(mf.migration.operations)
    return schema


def check_whole_set(existing: Sequence[MigrationFile], captured: Sequence[Captured]) -> None:
    """Replay the set as it will be after writing (re-captured files in their places, new ones
    at the end); a later existing file that no longer fits is an :class:`InputError`."""
    produced = {m.id: m for c in captured for m in c.migrations}
    recaptured = {c.unit.migration.id for c in captured}
    ordered: list[Migration] = []
    for mf in existing:
        mid = mf.migration.id
        if mid.removesuffix(POST_SUFFIX) not in recaptured:
            ordered.append(mf.migration)
        elif mid in produced:
            ordered.append(produced.pop(mid))
    ordered += [m for c in captured for m in c.migrations if m.id in produced]
    schema = Schema()
    for migration in ordered:
        try:
            schema.apply_all(migration.operations)
        except ReplayError as exc:
            raise InputError(
                f"{migration.id}: no longer fits after this capture ({exc.message}); "
                "re-capture it too, or fix the migrations before it"
            ) from None


def normalize_units(
    units: Sequence[SqlUnit],
    schema: Schema,
    *,
    phase: PhaseChoice = "auto",
    types: Mapping[str, str] | None = None,
    unsplittable: PhaseChoice | None = None,
) -> list[Captured]:
    """Normalise units in order onto ``schema`` (mutated) and build their generic migrations.

    The units are normalised as one text, in order, the way Postgres runs them one after the
    other: what an earlier file created beyond the table model (an index a later ``PRIMARY KEY
    USING INDEX`` names, a view, a partition) is known to the later files. Each statement's
    outcome is then attributed to its own file and line, and three renames are folded into a
    swap only within one file.

    ``unsplittable``: the phase for a migration that ``auto`` cannot split (it drops something
    and then changes it again); ``None`` makes that an error. Raises
    :class:`~gen_migrate.capture.normalize.NormalizeError` (``file:line: reason: statement``)
    naming the first statement that cannot be normalised; the others follow in its detail.
    """
    if not units:
        return []
    pieces: list[str] = []
    starts: list[int] = []
    line = 1
    for unit in units:
        starts.append(line)
        pieces.append(unit.text)
        pieces.append(_SEPARATOR)
        line += unit.text.count("\n") + _SEPARATOR.count("\n")
    result = normalize_sql("".join(pieces), schema, file="", types=types, on_error="collect")
    per_unit: list[list[Outcome]] = [[] for _ in units]
    for outcome in result.outcomes:
        i = bisect_right(starts, outcome.line) - 1
        unit = units[i]
        outcome.file = unit.file
        outcome.line = outcome.line - starts[i] + 1 + unit.line_offset
        per_unit[i].append(outcome)
    errors = result.errors()
    if errors:
        raise NormalizeError(errors[0].message(), detail="\n".join(e.message() for e in errors))
    return [
        _captured(unit, outcomes, phase, unsplittable)
        for unit, outcomes in zip(units, per_unit, strict=True)
    ]


_SEPARATOR = "\n;\n"
"""Ends a file's last statement even when the file lacks a final semicolon."""


def _captured(
    unit: SqlUnit,
    outcomes: list[Outcome],
    phase: PhaseChoice,
    unsplittable: PhaseChoice | None,
) -> Captured:
    operations = fold_swaps([op for o in outcomes for op in o.operations])
    statements = [o.statement.strip() for o in outcomes if o.operations]
    result = NormalizeResult(operations, outcomes, statements)
    if not operations:
        return Captured(unit, result, [])
    m = unit.migration
    migration = Migration(
        id=m.id,
        source=Source(
            framework=m.framework,
            version=m.version,
            name=m.name or None,
            file=unit.file,
            statements=statements,
        ),
        operations=operations,
    )
    try:
        migrations = split_by_phase(migration, phase)
    except InputError as exc:
        if unsplittable is None:
            raise InputError(f"{unit.file}: {exc.message}") from None
        migrations = split_by_phase(migration, unsplittable)
    return Captured(unit, result, migrations)


def write_captured(directory: Path, captured: Sequence[Captured]) -> CaptureReport:
    """Write the migrations of ``captured``: new files go to the end of the sum, changed files
    are replaced in place, identical ones are left alone, and a re-captured migration's files
    that it no longer produces (a ``.post`` half, or all of it) are removed."""
    report = CaptureReport(captured=list(captured))
    new_names: list[str] = []
    for item in captured:
        produced = {f"{m.id}.json" for m in item.migrations}
        base = item.unit.migration.id
        for stale in (f"{base}.json", f"{base}{POST_SUFFIX}.json"):
            path = directory / stale
            if stale not in produced and path.exists():
                path.unlink()
                report.removed.append(path)
        for migration in item.migrations:
            path = directory / f"{migration.id}.json"
            text = migration.to_json()
            if path.exists():
                if path.read_text(encoding="utf-8") == text:
                    report.unchanged.append(path)
                    continue
            else:
                new_names.append(path.name)
            write_migration(directory, migration)
            report.written.append(path)
    if report.removed:
        write_sum(directory)
    if report.written:
        append_to_sum(directory, new_names)
    return report


def capture_sql(
    paths: Sequence[Path],
    out: Path,
    *,
    root: Path | None = None,
    name: str | None = None,
    phase: PhaseChoice = "auto",
    types: Mapping[str, str] | None = None,
) -> CaptureReport:
    """Capture the SQL migrations under ``paths`` into the generic directory ``out``.

    ``name`` replaces the name part of the id (one migration only); ``types`` are the config's
    ``[types]``; ``root`` is what ``Source.file`` paths are relative to. Nothing is written
    unless every file normalises.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a directory (the generic migrations directory)")
    found = discover(paths)
    if name is not None:
        if len(found) != 1:
            raise InputError(f"--name applies to one migration; {len(found)} were found")
        migration_id(found[0].version, name)
        only = found[0]
        found = [SqlMigration(only.version, name, only.path, only.framework)]
    units = [read_unit(m, root) for m in found]
    existing = load_dir(out) if out.is_dir() and any(out.iterdir()) else []
    schema = baseline(existing, {u.migration.id for u in units})
    captured = normalize_units(units, schema, phase=phase, types=types)
    check_whole_set(existing, captured)
    if any(c.migrations for c in captured):
        out.mkdir(parents=True, exist_ok=True)
    if not out.is_dir():
        return CaptureReport(captured=captured)
    return write_captured(out, captured)
