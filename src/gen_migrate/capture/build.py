"""Turning grouped capture units into generic migrations.

Each unit's statement is normalised against a working schema (the replay of the generic files
already in the output directory, minus the ones this run captures again). Statements that
cannot be normalised, and opaque ones (``DO`` blocks, function calls), take the catalog
fallback. After every unit the touched tables are compared with the catalog snapshot the
trigger took; a difference is corrected from the catalog and reported, so the files always
replay to what Postgres has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen_migrate.capture.events import Group, Unit
from gen_migrate.capture.fallback import dropped_tables, table_ops
from gen_migrate.capture.frameworks import AppMigration, framework_of, resolve, safe_id
from gen_migrate.capture.normalize import fold_swaps, normalize_sql
from gen_migrate.capture.pgtypes import TypeRegistry
from gen_migrate.config import Config
from gen_migrate.errors import InputError
from gen_migrate.generic.files import MigrationFile
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import Operation, TableRef
from gen_migrate.generic.phase import POST_SUFFIX, split_by_phase
from gen_migrate.generic.schema import ReplayError, Schema, TableSchema, replay

Warn = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """Choices that shape the written migrations."""

    framework: str
    name: str | None
    phase: str
    config: Config
    project: Path
    started: str
    bookkeeping: frozenset[str]
    note: Callable[[str], None] | None = None
    before: Schema = field(default_factory=Schema)
    """The captured tables and user types as the catalog had them when the observer started."""


def _app_of(group: Group, options: BuildOptions, any_marker: bool) -> AppMigration:
    if group.marker is not None and group.marker.marker_table and group.marker.marker_row:
        framework = framework_of(
            group.marker.marker_table, group.marker.marker_row, options.framework
        )
        if framework is not None:
            return resolve(framework, group.marker.marker_row, options.project)
    version = options.name or options.started
    if any_marker:
        version = f"{options.started}_after_last_migration"
    return AppMigration("sql", safe_id(version))


def _managed(ref: TableRef, options: BuildOptions) -> bool:
    return (
        ref.schema in options.config.source.schemas
        and ref.name not in options.bookkeeping
        and options.config.tables.managed(ref)
    )


def _keep(op: Operation, options: BuildOptions) -> bool:
    table = getattr(op, "table", None)
    return not isinstance(table, TableRef) or _managed(table, options)


def _baseline(existing: Sequence[MigrationFile], recaptured: set[str]) -> Schema:
    kept = [
        mf.migration.operations
        for mf in existing
        if mf.migration.id not in recaptured
        and mf.migration.id.removesuffix(POST_SUFFIX) not in recaptured
    ]
    try:
        return replay(kept)
    except ReplayError as exc:
        raise InputError(f"replaying the existing generic files: {exc.message}") from None


def _seed(schema: Schema, options: BuildOptions, warn: Warn) -> None:
    """Tables that existed before the run but are in no generic file start as the catalog had
    them, so their changes normalise (rather than each becoming a create_table)."""
    for ref, ty in options.before.types.items():
        schema.types.setdefault(ref, ty)
    unknown = []
    for ref, table in sorted(options.before.tables.items(), key=lambda kv: str(kv[0])):
        if ref in schema.tables or not _managed(ref, options):
            continue
        schema.tables[ref] = TableSchema(ref, dict(table.columns), list(table.primary_key))
        unknown.append(str(ref))
    if unknown:
        warn(
            f"{len(unknown)} table(s) existed before the run but are in no generic file "
            f"({', '.join(unknown[:5])}{', …' if len(unknown) > 5 else ''}): their columns as "
            "the database had them are the starting point; their creation is not captured"
        )


def _normalise(unit: Unit, schema: Schema, options: BuildOptions, where: str) -> list[Operation]:
    """Operations of one statement, replayed onto ``schema``; raises when it cannot."""
    result = normalize_sql(
        unit.statement.text,
        schema,
        file=where,
        line_offset=unit.statement.line - 1,
        types=options.config.types,
        on_error="raise",
    )
    return list(result.operations)


def _snapshots(unit: Unit) -> dict[TableRef, list[dict[str, Any]]]:
    """The last catalog snapshot of each table the unit touched."""
    out: dict[TableRef, list[dict[str, Any]]] = {}
    for ev in unit.events:
        for cmd in ev.commands:
            cols = cmd.get("columns")
            if cols is not None and cmd.get("rel_name"):
                out[TableRef(schema=str(cmd["schema_name"]), name=str(cmd["rel_name"]))] = cols
    return out


def _from_catalog(
    unit: Unit,
    schema: Schema,
    registry: TypeRegistry,
    options: BuildOptions,
    warn: Warn,
    where: str,
) -> list[Operation]:
    ops: list[Operation] = []
    drops = [d for ev in unit.events for d in ev.drops]
    snaps = _snapshots(unit)
    for drop in dropped_tables(schema, drops):
        if drop.table not in snaps:
            schema.apply(drop)
            ops.append(drop)
    for ref, cols in snaps.items():
        if not _managed(ref, options):
            continue
        for op in table_ops(schema, ref, cols, registry, warn, where=where):
            schema.apply(op)
            ops.append(op)
    return ops


def _unit_ops(
    unit: Unit,
    schema: Schema,
    registry: TypeRegistry,
    options: BuildOptions,
    warn: Warn,
    where: str,
) -> list[Operation]:
    first_line = unit.statement.text.strip().splitlines()[0][:80] if unit.statement.text else "?"
    if unit.opaque:
        if options.note:
            options.note(f"{where}: {first_line}: taken from the catalog ({unit.statement.node})")
        return _from_catalog(unit, schema, registry, options, warn, where)
    try:
        ops = _normalise(unit, schema, options, where)
    except InputError as exc:
        warn(f"{where}: {exc.message}: taken from the catalog instead")
        return _from_catalog(unit, schema, registry, options, warn, where)
    # The catalog has the last word: a difference means the text said less than Postgres did.
    extra: list[Operation] = []
    for ref, cols in _snapshots(unit).items():
        if not _managed(ref, options):
            continue
        fixes = table_ops(schema, ref, cols, registry, warn, where=where)
        if fixes:
            warn(
                f"{where}: {first_line}: the catalog shows more than the statement says "
                f"({', '.join(f.op for f in fixes)} on {ref}); recorded from the catalog"
            )
        for op in fixes:
            schema.apply(op)
            extra.append(op)
    return ops + extra


def _skippable(unit: Unit, options: BuildOptions) -> bool:
    if not unit.changed:
        return True
    tables = unit.tables()
    refs = [TableRef(schema=s, name=n) for s, n in tables]
    return bool(refs) and not any(_managed(r, options) for r in refs)


def build_migrations(
    groups: Sequence[Group], existing: Sequence[MigrationFile], options: BuildOptions, warn: Warn
) -> list[Migration]:
    """One migration per group that changed a captured table (split by phase), in order."""
    any_marker = any(g.marker is not None for g in groups)
    apps = [_app_of(g, options, any_marker) for g in groups]
    schema = _baseline(existing, {a.id for a in apps})
    registry = TypeRegistry.from_schema(schema, options.config.types)
    _seed(schema, options, warn)
    out: list[Migration] = []
    for group, app in zip(groups, apps, strict=True):
        if group.marker is None and any_marker and any(u.changed for u in group.units):
            warn(
                "DDL ran after the last version marker (not part of an app migration); "
                f"written as {app.id}"
            )
        ops: list[Operation] = []
        statements: list[str] = []
        where = app.file or app.id
        for unit in group.units:
            if _skippable(unit, options):
                continue
            unit_ops = _unit_ops(unit, schema, registry, options, warn, where)
            kept = [op for op in unit_ops if _keep(op, options)]
            if unit_ops:
                statements.append(unit.statement.text)
            ops += kept
        if not ops:
            continue
        ops = fold_swaps(ops)
        migration = Migration(
            id=app.id,
            source=Source(
                framework=app.framework,
                version=app.version,
                name=app.name,
                file=app.file,
                statements=statements,
            ),
            operations=ops,
        )
        choice = "post" if app.post and options.phase == "auto" else options.phase
        try:
            out += split_by_phase(migration, choice)  # type: ignore[arg-type]
        except InputError as exc:
            # The migration already ran: keep the capture whole rather than lose it.
            warn(
                f"{exc.message}; written whole as phase pre: review it, change its phase "
                "if needed, then run `gen-migrate hash`"
            )
            out += split_by_phase(migration, "pre")
    return out
