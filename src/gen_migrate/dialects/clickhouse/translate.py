"""Generic operations + the live catalog → a plan of guarded steps (materialized-view aware).

The planner keeps its own copy of the catalog and changes it as each operation is planned, so a
later operation of the same migration sees the tables, columns and view queries the earlier
ones leave behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from gen_migrate.dialects.base import MigrationPlan, Refusal, Step
from gen_migrate.dialects.clickhouse.config import ClickHouseTargetConfig
from gen_migrate.dialects.clickhouse.guards import ABSENT_OR, Guard
from gen_migrate.dialects.clickhouse.introspect import Catalog, LiveColumn, LiveTable
from gen_migrate.dialects.clickhouse.quoting import ident, literal, on_cluster, qualified
from gen_migrate.dialects.clickhouse.swaps import SwapPlan
from gen_migrate.dialects.clickhouse.types import (
    TypeMapper,
    is_nullable,
    make_nullable,
    strip_nullable,
)
from gen_migrate.dialects.clickhouse.views import ViewQuery, column_refs
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    CreateTable,
    DefineType,
    DropColumn,
    DropTable,
    DropType,
    RenameColumn,
    RenameTable,
    SetDefault,
    SetNullable,
    SwapColumns,
    TableRef,
)
from gen_migrate.generic.safety import Safety
from gen_migrate.generic.schema import Schema
from gen_migrate.generic.types import GenericType, TypeKind

TEMP_SUFFIX = "__gm_tmp"
INSERTS_RUNNING = "SELECT query_id FROM "
"""Prefix of a wait statement: the executor lists the inserts it returns and polls until they
have all finished (see :meth:`Planner.settle`)."""
_DOUBLE_COUNTING = ("Summing", "Aggregating", "Collapsing", "VersionedCollapsing")
_NUMERIC_KINDS = frozenset(
    (
        TypeKind.INT16,
        TypeKind.INT32,
        TypeKind.INT64,
        TypeKind.FLOAT32,
        TypeKind.FLOAT64,
        TypeKind.DECIMAL,
    )
)
_TEXTUAL_KINDS = frozenset((TypeKind.STRING, TypeKind.ENUM, TypeKind.UUID))
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_TTL = re.compile(r"\bTTL\b(.*?)(?:\bSETTINGS\b|$)", re.S)
_CAST_LITERAL = re.compile(r"^'((?:[^']|'')*)'(::[\w\s\"().,\[\]]+)?$")


class _Refused(Exception):
    def __init__(self, table: str, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.table, self.column, self.reason = table, column, reason


def table_name(config: ClickHouseTargetConfig, ref: TableRef) -> str:
    """The ClickHouse table of a source table, by the ``table`` template."""
    return config.table.format(table=ref.name, schema=ref.schema)


def default_literal(pg_default: str | None, gtype: GenericType | None = None) -> str | None:
    """A Postgres default as a ClickHouse literal, or None when it is not a plain constant of a
    kind ClickHouse reads the same way (a quoted Postgres literal means something else for an
    array, ``'{}'``, or a number)."""
    if pg_default is None:
        return None
    text = pg_default.strip()
    low = text.lower()
    kind = gtype.kind if gtype is not None else None
    if low in ("true", "false"):
        return low if kind in (None, TypeKind.BOOL) else None
    if _NUMBER.match(text):
        return text if kind is None or kind in _NUMERIC_KINDS else None
    match = _CAST_LITERAL.match(text)
    if match:
        value = match.group(1).replace("''", "'")
        if kind is TypeKind.ARRAY:
            return "[]" if value == "{}" else None
        if kind is None or kind in _TEXTUAL_KINDS:
            return literal(value)
    return None


def inner_storage(view: LiveTable) -> bool:
    """Whether ``view`` has no TO table and keeps its rows in its own inner table."""
    return view.target_table.startswith((".inner.", ".inner_id."))


@dataclass
class Planner:
    """Plans one migration against a catalog snapshot (which it updates as it goes)."""

    config: ClickHouseTargetConfig
    catalog: Catalog
    before: Schema
    mapper: TypeMapper = field(init=False)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    migration_id: str = ""

    def __post_init__(self) -> None:
        c = self.config
        self.mapper = TypeMapper(c.type_map, dict(c.type_overrides), c.nullable)
        self.db = c.database
        self.cluster = on_cluster(c.cluster)

    # -- helpers ---------------------------------------------------------------------------
    def q(self, table: str) -> str:
        return qualified(self.db, table)

    def alter(self, table: str, clause: str) -> str:
        return f"ALTER TABLE {self.q(table)}{self.cluster} {clause}"

    def step(
        self, title: str, statements: list[str], guard: Guard | list[Guard], note: str = ""
    ) -> None:
        """Append a step; a list of guards is one per statement (each skipped on resume)."""
        described = "; ".join(g.describe() for g in guard) if isinstance(guard, list) else ""
        self.steps.append(
            Step(
                migration_id=self.migration_id,
                index=len(self.steps),
                title=title,
                statements=statements,
                note=note,
                guard=described or (guard.describe() if isinstance(guard, Guard) else ""),
                payload=guard,
            )
        )

    def live(self, name: str) -> LiveTable | None:
        return self.catalog.tables.get(name)

    def readers(self, source: str) -> list[tuple[LiveTable, ViewQuery]]:
        """Materialized views whose query reads ``source`` (temp views of ours excluded)."""
        found = []
        for view in self.catalog.views():
            if view.name.endswith(TEMP_SUFFIX):
                continue
            vq = ViewQuery(view.as_select, source, self.db)
            if vq.reads_table():
                found.append((view, vq))
        return found

    def users(self, table: str) -> list[str]:
        """Views reading or writing ``table`` and dictionaries whose source query names it."""
        word = re.compile(rf"\b{re.escape(table)}\b")
        return (
            [v.name for v, _ in self.readers(table)]
            + [v.name for v in self.writers(table)]
            + [d.name for d in self.catalog.dictionaries() if word.search(d.create_query)]
        )

    def writers(self, target: str) -> list[LiveTable]:
        return [v for v in self.catalog.views() if v.target_table == target]

    def strategy(self, view: LiveTable) -> tuple[str, str]:
        """(``exchange``|``modify_query``, why) for rewriting ``view``."""
        chosen = self.config.mv_strategy
        if inner_storage(view):
            return "modify_query", (
                f"view {view.name} keeps its rows in its inner table, which dropping the view "
                "would drop with them"
            )
        target = self.live(view.target_table)
        engine = target.engine if target else "(no TO table)"
        if chosen != "auto":
            return chosen, f"mv_strategy = {chosen!r} in the target config"
        if target is not None and any(k in engine for k in _DOUBLE_COUNTING):
            return "modify_query", (
                f"target {view.target_table} is {engine}: the temp-view window "
                "would insert rows twice and double-count there"
            )
        return "exchange", (
            f"target {view.target_table or view.name} is {engine}: rows the temp-view window "
            "writes twice fold into one"
        )

    def rewrite_view(
        self,
        view: LiveTable,
        new_sql: str,
        source: str,
        column: str,
        why: str,
        refs: str | None = None,
    ) -> None:
        """Steps replacing ``view``'s query; guards check that it no longer reads ``column``,
        or, given ``refs`` (a ``view_refs`` guard value), that it reads exactly those."""
        how, reason = self.strategy(view)
        tmp = view.name + TEMP_SUFFIX
        if refs is None:
            clean = Guard("view_clean", view.name, column, source)
            temp = Guard("temp_or_clean", view.name, column, source, tmp)
        else:
            clean = Guard("view_refs", view.name, refs, source)
            temp = Guard("temp_or_refs", view.name, refs, source, tmp)
        if how == "modify_query":
            self.step(
                f"rewrite view {view.name} ({why}) with MODIFY QUERY",
                [self.alter(view.name, f"MODIFY QUERY {new_sql}")],
                clean,
                f"MODIFY QUERY: {reason}",
            )
        else:
            self.replace_via_temp(view, new_sql, source, why, temp, clean, reason)
        view.as_select = new_sql

    def protected(self, table: LiveTable, column: str, *, for_rename: bool = False) -> str | None:
        """Why ``column`` of ``table`` cannot be dropped/renamed/retyped, or None."""
        keys = table.key_columns()
        if column in keys:
            return f"column is in the {keys[column]}"
        for name, query in table.projections.items():
            star = for_rename and re.match(r"\s*SELECT\s+\*", query, re.I) is not None
            if star or column in column_refs(query):
                return f"column is used by projection {name}"
        if not for_rename:
            for name, expr in table.skip_indices.items():
                if column in column_refs(expr):
                    return f"column is used by skip index {name}"
        for other in table.columns.values():
            if other.name != column and column in column_refs(other.default_expression):
                return f"column is used by the {other.default_kind} expression of {other.name}"
        return None

    def check_views(
        self, source: str, column: str, action: str
    ) -> list[tuple[LiveTable, ViewQuery]]:
        """Views that read ``column``; refuses when one uses it outside its projection list."""
        found = []
        for view, vq in self.readers(source):
            use = vq.use(column)
            if use.other:
                spots = ", ".join(dict.fromkeys(use.other))
                raise _Refused(
                    source,
                    column,
                    f"cannot {action}: materialized view {view.name} uses it outside its "
                    f"projection list ({spots})",
                )
            if use.reads:
                if inner_storage(view):
                    raise _Refused(
                        source,
                        column,
                        f"cannot {action}: materialized view {view.name} outputs it into its "
                        "inner table (no TO table), whose rows a rewrite would lose or whose "
                        f"columns it cannot change; recreate {view.name} with a TO table first",
                    )
                found.append((view, vq))
        return found

    def dictionaries(self, source: str, column: str) -> None:
        word = re.compile(rf"\b{re.escape(column)}\b")
        for d in self.catalog.dictionaries():
            if source in d.create_query and word.search(d.create_query):
                self.notes.append(
                    f"dictionary {d.name} reads {source} and mentions {column} in its source "
                    "query: update it by hand"
                )

    def source_table(self, ref: TableRef) -> LiveTable | None:
        name = table_name(self.config, ref)
        live = self.live(name)
        if live is None:
            self.notes.append(f"{ref}: table {name} does not exist in ClickHouse: skipped")
        return live

    def source_column(
        self, op: DropColumn | AlterColumnType | SetNullable
    ) -> tuple[LiveTable, LiveColumn] | None:
        """The live source table and column an operation names, or ``None`` (with a plan note)
        when either does not exist in ClickHouse."""
        live = self.source_table(op.table)
        if live is None:
            return None
        current = live.columns.get(op.column)
        if current is None:
            self.notes.append(f"{live.name}.{op.column} does not exist: {op.op} skipped")
            return None
        return live, current

    # -- operations ------------------------------------------------------------------------
    def create_table(self, op: CreateTable) -> None:
        name = table_name(self.config, op.table)
        if self.live(name) is not None:
            self.notes.append(f"{op.table}: {name} already exists: create_table skipped")
            return
        cols: dict[str, LiveColumn] = {}
        lines = []
        for col in op.columns:
            native = self.mapper.column(col.type, col.nullable and col.name not in op.primary_key)
            default = default_literal(col.default, col.type) or native.default
            lines.append(
                f"{ident(col.name)} {native.type}" + (f" DEFAULT {default}" if default else "")
            )
            cols[col.name] = LiveColumn(
                col.name, native.type, "DEFAULT" if default else "", default or ""
            )
        for pname, spec in self.config.pipeline_columns.items():
            lines.append(f"{ident(pname)} {spec}")
            cols[pname] = LiveColumn(pname, spec.split(" DEFAULT ")[0], "", "")
        key = ", ".join(ident(c) for c in op.primary_key)
        order = self.config.order_by.format(primary_key=key) if key else "tuple()"
        body = ",\n    ".join(lines)
        self.step(
            f"create table {name}",
            [
                f"CREATE TABLE {self.q(name)}{self.cluster}\n(\n    {body}\n)\n"
                f"ENGINE = {self.config.engine}\nORDER BY ({order})"
            ],
            Guard("table_exists", name),
        )
        self.catalog.tables[name] = LiveTable(
            name,
            self.config.engine.split("(")[0],
            self.config.engine,
            order,
            "",
            order,
            [],
            "",
            "",
            "",
            cols,
        )

    def drop_table(self, op: DropTable) -> None:
        live = self.source_table(op.table)
        if live is None:
            return
        views = self.users(live.name)
        if views:
            raise _Refused(
                live.name,
                None,
                f"views or dictionaries use it: {', '.join(views)}; drop or change them first",
            )
        self.step(
            f"drop table {live.name}",
            [f"DROP TABLE {self.q(live.name)}{self.cluster} SYNC"],
            Guard("table_absent", live.name),
        )
        del self.catalog.tables[live.name]

    def rename_table(self, op: RenameTable) -> None:
        live = self.source_table(op.table)
        if live is None:
            return
        new = table_name(self.config, TableRef(schema=op.table.schema, name=op.new_name))
        views = self.users(live.name)
        if views:
            raise _Refused(
                live.name,
                None,
                f"views or dictionaries use it (views would silently stop): {', '.join(views)}",
            )
        self.step(
            f"rename table {live.name} to {new}",
            [f"RENAME TABLE {self.q(live.name)} TO {self.q(new)}{self.cluster}"],
            Guard("renamed", live.name, value=new),
        )
        del self.catalog.tables[live.name]
        live.name = new
        self.catalog.tables[new] = live

    def add_column(self, op: AddColumn) -> None:
        live = self.source_table(op.table)
        if live is None:
            return
        col = op.column
        if col.name in live.columns:
            self.notes.append(f"{live.name}.{col.name} already exists: add_column skipped")
            return
        native = self.mapper.column(col.type, col.nullable)
        default = default_literal(col.default, col.type) or native.default
        if col.default is not None and default_literal(col.default, col.type) is None:
            self.notes.append(
                f"{live.name}.{col.name}: Postgres default {col.default!r} is not a constant: "
                "no ClickHouse DEFAULT (rows arrive with their values)"
            )
        spec = native.type + (f" DEFAULT {default}" if default else "")
        later: list[tuple[LiveTable, ViewQuery, bool]] = []  # (view, query, was a * view)
        for view, vq in self.readers(live.name):
            target = self.live(view.target_table)
            star = vq.star_passthrough()
            outputs = vq.outputs()
            full = star or set(live.columns) <= set(outputs.values())
            if not full or target is None:
                self.notes.append(
                    f"view {view.name} does not pass every column of {live.name} "
                    "through: left alone"
                )
                continue
            if star and vq.expandable():
                later.append((view, self.spell_out(view, vq, live), True))
            elif not star:
                later.append((view, vq, False))
            if col.name not in target.columns:
                self.add_step(target, col.name, spec, f"target of {view.name}")
        self.add_step(live, col.name, spec, "source")
        for view, vq, was_star in later:
            new_sql = vq.with_column(col.name)
            how, reason = self.strategy(view)
            if was_star:
                how, reason = "modify_query", "the view was spelled out by this plan"
            if how == "modify_query":
                self.step(
                    f"rewrite view {view.name} (pass {col.name} through) with MODIFY QUERY",
                    [self.alter(view.name, f"MODIFY QUERY {new_sql}")],
                    Guard("view_has", view.name, col.name, live.name),
                    f"MODIFY QUERY: {reason}",
                )
                view.as_select = new_sql
            else:
                self.add_via_temp(view, new_sql, live.name, col.name, reason)

    def spell_out(self, view: LiveTable, vq: ViewQuery, live: LiveTable) -> ViewQuery:
        """Step rewriting a ``*`` view over ``live`` to its explicit column list."""
        explicit = vq.expanded(list(live.columns))
        self.step(
            f"rewrite view {view.name} to an explicit column list",
            [self.alter(view.name, f"MODIFY QUERY {explicit}")],
            Guard("view_no_star", view.name, value=live.name),
            "a * view fails concurrent inserts while its source gains a column "
            "(measured on ClickHouse 26.9); the same columns, spelled out, do not",
        )
        view.as_select = explicit
        return ViewQuery(explicit, live.name, self.db)

    def add_via_temp(
        self, view: LiveTable, new_sql: str, source: str, column: str, reason: str
    ) -> None:
        self.replace_via_temp(
            view,
            new_sql,
            source,
            f"pass {column} through",
            Guard("temp_or_has", view.name, column, source, view.name + TEMP_SUFFIX),
            Guard("view_has", view.name, column, source),
            reason,
        )

    def replace_via_temp(
        self,
        view: LiveTable,
        new_sql: str,
        source: str,
        why: str,
        temp: Guard,
        done: Guard,
        reason: str,
    ) -> None:
        """Steps replacing ``view``'s query through a temp view (``mv_strategy = "exchange"``):
        create the temp view with the new query (guard ``temp``), wait for the inserts begun
        before it existed, drop ``view``, create it again with the new query (guard ``done``),
        wait again, drop the temp view. At every moment some view with a valid query feeds the
        target, and no view is dropped while an insert that knows only it is running. The
        proposal's ``EXCHANGE TABLES`` is not used: an insert that looks up its views while two
        of them exchange names can miss both (measured on chdb 26.9, see docs/engine-notes.md)."""
        tmp = view.name + TEMP_SUFFIX
        target = f" TO {self.q(view.target_table)}" if view.target_table else ""
        into = view.target_table or view.name
        lost = (
            "an insert that started while only {old} existed knows no other view; once {old} is "
            f"dropped ClickHouse skips it and the row never reaches {into} (measured on chdb "
            "26.9: 4 rows lost in 20,177 over 1,200 create/EXCHANGE/drop cycles without this "
            "wait, 0 in 21,569 with it)"
        )
        self.step(
            f"create temp view {tmp} ({why})",
            [f"CREATE MATERIALIZED VIEW {self.q(tmp)}{self.cluster}{target} AS {new_sql}"],
            temp,
            f"temp view: {reason}; until {tmp} is dropped every insert reaches {into} twice",
        )
        self.settle(source, f"{tmp} existed", lost.format(old=view.name))
        self.step(
            f"drop view {view.name} ({tmp} feeds {into} meanwhile)",
            [f"DROP TABLE {self.q(view.name)}{self.cluster} SYNC"],
            replace(done, kind=ABSENT_OR + done.kind),
        )
        self.step(
            f"create view {view.name} again ({why})",
            [f"CREATE MATERIALIZED VIEW {self.q(view.name)}{self.cluster}{target} AS {new_sql}"],
            done,
        )
        self.settle(source, f"{view.name} was created again", lost.format(old=tmp))
        self.step(
            f"drop temp view {tmp}",
            [f"DROP TABLE {self.q(tmp)}{self.cluster} SYNC"],
            Guard("table_absent", tmp),
        )
        view.as_select = new_sql

    def add_step(self, table: LiveTable, column: str, spec: str, role: str) -> None:
        self.step(
            f"add column {table.name}.{column} ({role})",
            [self.alter(table.name, f"ADD COLUMN IF NOT EXISTS {ident(column)} {spec}")],
            Guard("column_exists", table.name, column),
        )
        table.columns[column] = LiveColumn(column, spec.split(" DEFAULT ")[0], "", "")

    def drop_column(self, op: DropColumn) -> None:
        found = self.source_column(op)
        if found is None:
            return
        live, c = found[0], op.column
        why = self.protected(live, c)
        if why:
            raise _Refused(live.name, c, f"cannot drop: {why}")
        views = self.check_views(live.name, c, "drop")
        self.dictionaries(live.name, c)
        drops: list[tuple[LiveTable, str, str]] = []
        for view, vq in views:
            use = vq.use(c)
            outputs = list(use.outputs) + ([c] if use.star else [])
            self.rewrite_view(view, vq.without(c), live.name, c, f"without {c}")
            target = self.live(view.target_table)
            for out in dict.fromkeys(outputs):
                if target is not None and out in target.columns:
                    drops.append((target, out, view.name))
        for target, out, vname in drops:
            reason = self.protected(target, out)
            others = [
                w.name
                for w in self.writers(target.name)
                if w.name != vname and out in ViewQuery(w.as_select, live.name, self.db).outputs()
            ]
            readers = [v.name for v, q in self.readers(target.name) if q.use(out).reads]
            if reason or others or readers:
                self.notes.append(
                    f"{target.name}.{out} kept: "
                    + (reason or f"still used by {', '.join(others + readers)}")
                )
                continue
            self.drop_step(target, out, f"target of {vname}")
        self.drop_step(live, c, "source")

    def drop_step(self, table: LiveTable, column: str, role: str) -> None:
        self.step(
            f"drop column {table.name}.{column} ({role})",
            [self.alter(table.name, f"DROP COLUMN IF EXISTS {ident(column)}")],
            Guard("column_absent", table.name, column),
        )
        table.columns.pop(column, None)

    def rename_column(self, op: RenameColumn) -> None:
        live = self.source_table(op.table)
        if live is None:
            return
        c, d = op.column, op.new_name
        if c not in live.columns and d in live.columns:
            self.notes.append(f"{live.name}.{c} already renamed to {d}: skipped")
            return
        why = self.protected(live, c, for_rename=True)
        if why:
            raise _Refused(live.name, c, f"cannot rename: {why}")
        self.dictionaries(live.name, c)
        views = [
            (v, q) for v, q in self.readers(live.name) if q.use(c).reads or q.star_passthrough()
        ]
        if not views and live.engine != "Null":
            self.rename_step(live, c, d)
            return
        blocker = self.copy_blocker(live, c)
        if blocker is None:
            self.rename_by_copy(live, c, d, views)
            return
        statements = [self.alter(live.name, f"RENAME COLUMN {ident(c)} TO {ident(d)}")]
        guards = [Guard("column_renamed", live.name, c, d)]
        for view, vq in views:
            new_sql = vq.renamed(c, d)
            statements.append(self.alter(view.name, f"MODIFY QUERY {new_sql}"))
            guards.append(Guard("view_clean", view.name, c, live.name))
            view.as_select = new_sql
        names = ", ".join(v.name for v, _ in views)
        self.step(
            f"rename column {live.name}.{c} to {d} and rewrite views {names} (read {d} as {c})",
            statements,
            guards,
            f"RENAME COLUMN in place because {blocker}; statements back to back: views read "
            "the old name until rewritten, so inserts in that window fail; output names and "
            "targets stay",
        )
        cols = live.columns
        live.columns = {(d if n == c else n): v for n, v in cols.items()}

    def copy_blocker(self, table: LiveTable, column: str) -> str | None:
        """Why a rename of ``column`` cannot go through a copy (add + rewrite + drop), or None:
        DROP COLUMN is refused while a skip index or TTL names the column, which RENAME COLUMN
        rewrites; a computed column cannot be copied by a DEFAULT."""
        kind = table.columns[column].default_kind
        if kind not in ("", "DEFAULT"):
            return f"{table.name}.{column} is {kind}"
        for name, expr in table.skip_indices.items():
            if column in column_refs(expr):
                return f"skip index {name} uses {column}"
        ttl = _TTL.search(table.create_query)
        if ttl and re.search(
            rf"(?<![\w`]){re.escape(column)}(?![\w`])|`{re.escape(column)}`", ttl.group(1)
        ):
            return f"the TTL of {table.name} uses {column}"
        return None

    def rename_by_copy(
        self, live: LiveTable, c: str, d: str, views: list[tuple[LiveTable, ViewQuery]]
    ) -> None:
        """Rename a column views read without a moment where an insert fails: add ``d DEFAULT
        c``, point the views at ``d``, materialize ``d``, give it ``c``'s default, drop ``c``."""
        src = live.name
        col = live.columns[c]
        rewrite = []
        spelled = False
        for view, vq in self.readers(src):
            if vq.star_passthrough() and vq.expandable():
                vq = self.spell_out(view, vq, live)
                spelled = True
            elif vq.star_passthrough():
                self.notes.append(
                    f"view {view.name} reads {src} with * and a join: inserts may fail while "
                    f"{src} gains {d}"
                )
            if any(v is view for v, _ in views) and vq.use(c).reads:
                rewrite.append((view, vq))
        if spelled:
            self.settle(src, "its * views were spelled out")
        self.step(
            f"add column {src}.{d} (rename of {c}: DEFAULT {c})",
            [
                self.alter(
                    src,
                    f"ADD COLUMN IF NOT EXISTS {ident(d)} {col.type} DEFAULT {ident(c)} "
                    f"AFTER {ident(c)}",
                )
            ],
            Guard("column_exists", src, d),
            f"metadata only: inserts naming {c} fill {d} from it, rows written before read {d} "
            f"computed from {c}; views still read {c}",
        )
        if rewrite:
            self.settle(src, f"{d} existed")
        for view, vq in rewrite:
            self.rename_view(view, vq, src, c, d)
        if live.engine != "Null":
            self.step(
                f"materialize {src}.{d}",
                [self.alter(src, f"MATERIALIZE COLUMN {ident(d)} SETTINGS mutations_sync = 2")],
                Guard("column_materialized", src, d),
                f"a mutation writes {d} into the parts written before it existed (waits for "
                f"it); without it those rows would lose the value once {c} is dropped",
            )
        keep = col.default_kind == "DEFAULT"
        self.step(
            f"set the DEFAULT of {src}.{d} to {c}'s ({col.default_expression})"
            if keep
            else f"remove the DEFAULT of {src}.{d}",
            [
                self.alter(
                    src,
                    f"MODIFY COLUMN {ident(d)} "
                    + (f"DEFAULT {col.default_expression}" if keep else "REMOVE DEFAULT"),
                )
            ],
            Guard("column_default", src, d, col.default_expression if keep else ""),
            f"{c} cannot be dropped while {d}'s DEFAULT reads it; from here an insert naming "
            f"only {c} leaves {d} at its default (the consumer's column filter drops {c} once "
            "it is gone)",
        )
        if rewrite:
            self.settle(src, f"the views read {d}")
        self.step(
            f"drop column {src}.{c} (renamed to {d})",
            [self.alter(src, f"DROP COLUMN IF EXISTS {ident(c)}")],
            Guard("column_absent", src, c),
        )
        live.columns = {
            (d if n == c else n): (
                LiveColumn(d, v.type, v.default_kind, v.default_expression) if n == c else v
            )
            for n, v in live.columns.items()
        }

    def settle(self, table: str, before: str, why: str = "") -> None:
        """Step waiting for the inserts into ``table`` running when it starts: an insert keeps
        the column list and view queries it started with, so one begun before ``before`` can
        still push a block without the new column, or through an old query, after it. ``why``
        (why this plan waits) replaces the note's default reason."""
        processes = (
            f"clusterAllReplicas({literal(self.config.cluster)}, system.processes)"
            if self.config.cluster
            else "system.processes"
        )
        self.step(
            f"wait for inserts into {table} begun before {before}",
            [
                f"{INSERTS_RUNNING}{processes} WHERE query_kind = 'Insert' "
                f"AND position(query, {literal(table)}) > 0"
            ],
            Guard("never"),
            "lists the running inserts into the table and waits until they have finished"
            + (
                f"; {why}"
                if why
                else " (measured on ClickHouse 26.9: without it about 1 in 15 applies failed an "
                "insert)"
            ),
        )

    def rename_view(self, view: LiveTable, vq: ViewQuery, source: str, c: str, d: str) -> None:
        """Point ``view`` at ``d`` (output names stay): MODIFY QUERY, or the
        temp-view route when ``mv_strategy`` is ``exchange`` and the view has a TO table."""
        new_sql = vq.renamed(c, d, both_exist=True)
        if self.config.mv_strategy == "exchange" and view.target_table:
            self.rewrite_view(view, new_sql, source, c, f"read {d} as {c}")
            return
        self.step(
            f"rewrite view {view.name} (read {d} as {c}) with MODIFY QUERY",
            [self.alter(view.name, f"MODIFY QUERY {new_sql}")],
            Guard("view_clean", view.name, c, source),
            f"{source} has both {c} and {d} now: MODIFY QUERY swaps the query at once, no "
            "insert is written twice; output names (and the target) stay",
        )
        view.as_select = new_sql

    def rename_step(self, table: LiveTable, c: str, d: str) -> None:
        self.step(
            f"rename column {table.name}.{c} to {d}",
            [self.alter(table.name, f"RENAME COLUMN {ident(c)} TO {ident(d)}")],
            Guard("column_renamed", table.name, c, d),
        )
        cols = table.columns
        table.columns = {(d if n == c else n): v for n, v in cols.items()}

    def swap_columns(self, op: SwapColumns) -> None:
        """Exchange two column names, every view reading them rewritten (see :mod:`.swaps`)."""
        live = self.source_table(op.table)
        if live is None:
            return
        for col in (op.a, op.b):
            if col not in live.columns:
                self.notes.append(f"{live.name}.{col} does not exist: swap_columns skipped")
                return
        for col in (op.a, op.b):
            why = self.protected(live, col, for_rename=True)
            if why:
                raise _Refused(live.name, col, f"cannot swap: {why}")
            self.dictionaries(live.name, col)
        SwapPlan(self, live, op.a, op.b).plan()

    def alter_column_type(self, op: AlterColumnType) -> None:
        found = self.source_column(op)
        if found is None:
            return
        (live, current), c = found, op.column
        nullable = is_nullable(current.type)
        native = self.mapper.column(op.new_type, nullable)
        if native.type == current.type:
            self.notes.append(f"{live.name}.{c} is already {native.type}: no change")
            return
        why = self.protected(live, c)
        if why:
            raise _Refused(live.name, c, f"cannot change type: {why}")
        if op.safety in (Safety.NARROWING, Safety.INCOMPATIBLE):
            if not self.config.allow_lossy_type_changes:
                raise _Refused(
                    live.name,
                    c,
                    f"{op.safety.value} type change {current.type} -> {native.type} refused "
                    "(a lossy MODIFY COLUMN corrupts silently; set allow_lossy_type_changes to run "
                    "it after a data check)",
                )
            self.step(
                f"check {live.name}.{c} converts to {native.type}",
                [
                    f"SELECT count() FROM {self.q(live.name)} WHERE {ident(c)} IS NOT NULL AND "
                    f"accurateCastOrNull({ident(c)}, {literal(native.type)}) IS NULL"
                ],
                Guard("never"),
                "pre-check: the step fails if any value does not convert (a failing conversion "
                "would leave the column unreadable)",
            )
        for view, vq in self.readers(live.name):
            if vq.use(c).reads or vq.star_passthrough():
                self.notes.append(
                    f"view {view.name} reads {live.name}.{c}: its target column type is unchanged"
                )
        self.step(
            f"change type of {live.name}.{c} to {native.type}",
            [self.alter(live.name, f"MODIFY COLUMN {ident(c)} {native.type}")],
            Guard("column_type", live.name, c, native.type),
            f"{op.safety.value}: {current.type} -> {native.type}",
        )
        current.type = native.type

    def set_nullable(self, op: SetNullable) -> None:
        found = self.source_column(op)
        if found is None:
            return
        (live, current), c = found, op.column
        if self.config.nullable == "never":
            self.notes.append(f"{live.name}.{c}: nullable policy 'never': no change")
            return
        is_null = is_nullable(current.type)
        if is_null == op.nullable or current.type.startswith("Array("):
            self.notes.append(f"{live.name}.{c} is already {current.type}: no change")
            return
        why = self.protected(live, c)
        if why:
            raise _Refused(live.name, c, f"cannot change nullability: {why}")
        if op.nullable:
            new, extra = make_nullable(current.type), ""
        else:
            new = strip_nullable(current.type)
            default = current.default_expression or f"defaultValueOfTypeName({literal(new)})"
            extra = f" DEFAULT {default}"
        self.step(
            f"make {live.name}.{c} {'Nullable' if op.nullable else 'NOT NULL'}",
            [self.alter(live.name, f"MODIFY COLUMN {ident(c)} {new}{extra}")],
            Guard("column_type", live.name, c, new),
            ""
            if op.nullable
            else "Nullable(T) -> T needs a DEFAULT in the MODIFY; NULLs become it",
        )
        current.type = new

    def set_default(self, op: SetDefault) -> None:
        name = table_name(self.config, op.table)
        self.notes.append(
            f"{op.table}.{op.column}: set_default needs no ClickHouse change: replicated rows "
            f"carry their values, and changing a DEFAULT of {name} would change what rows "
            "written before the column existed show"
        )

    def plan(self, migration: Migration, checksum: str) -> MigrationPlan:
        """The plan for ``migration``; refusals collected per operation, no steps if any."""
        self.migration_id = migration.id
        refusals: list[Refusal] = []
        handlers: dict[type[Any], Callable[[Any], None]] = {
            CreateTable: self.create_table,
            DropTable: self.drop_table,
            RenameTable: self.rename_table,
            AddColumn: self.add_column,
            DropColumn: self.drop_column,
            RenameColumn: self.rename_column,
            SwapColumns: self.swap_columns,
            AlterColumnType: self.alter_column_type,
            SetNullable: self.set_nullable,
            SetDefault: self.set_default,
            DefineType: lambda op: None,
            DropType: lambda op: None,
        }
        for op in migration.operations:
            try:
                handlers[type(op)](op)
            except _Refused as exc:
                refusals.append(Refusal(migration.id, exc.table, exc.column, exc.reason))
        return MigrationPlan(
            migration.id, checksum, [] if refusals else self.steps, refusals, self.notes
        )


def plan_migration(
    config: ClickHouseTargetConfig,
    catalog: Catalog,
    migration: Migration,
    checksum: str,
    before: Schema,
) -> MigrationPlan:
    """Translate one migration against a catalog snapshot (the snapshot is changed in place)."""
    return Planner(config, catalog, before).plan(migration, checksum)
