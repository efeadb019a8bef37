"""Planning ``swap_columns`` (Postgres's three renames exchanging two column names).

Every view reading either column is rewritten in the same plan to read the other name under
the old output name, so its target keeps its columns and keeps receiving the same data.

- Same type, on a MergeTree table: no rename. The views read ``b AS a`` and ``a AS b``, then
  one ``ALTER TABLE … UPDATE a = b, b = a`` swaps the values of the rows written so far. No name
  is ever missing, so no insert fails. The mutation's WHERE carries a marker naming the
  migration and step, so a rerun finds it in ``system.mutations`` and waits for it instead of
  swapping a second time (which would undo the first).
- Different types (or a column ``UPDATE`` cannot write): three guarded renames through
  ``_gm_swap_<a>``, each with the ``MODIFY QUERY`` of the views it breaks back to back.
  ClickHouse refuses chained renames in one ALTER and the type under each name flips, so
  inserts in that window can fail whatever the plan does; the plan says so.
- A ``Null`` landing table holds no rows: same type, only the views change; different types,
  one ALTER exchanges the two types, followed by the views.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gen_migrate.dialects.clickhouse.guards import Guard
from gen_migrate.dialects.clickhouse.introspect import LiveColumn, LiveTable
from gen_migrate.dialects.clickhouse.quoting import ident, literal
from gen_migrate.dialects.clickhouse.views import ViewQuery

if TYPE_CHECKING:
    from gen_migrate.dialects.clickhouse.translate import Planner

SWAP_PREFIX = "_gm_swap_"
_NOT_UPDATABLE = ("MATERIALIZED", "ALIAS", "EPHEMERAL")


def mutation_marker(migration_id: str, index: int) -> str:
    """The text a swap mutation's WHERE carries, unique per migration and step (a migration id
    holds only characters ClickHouse stores unescaped in ``system.mutations.command``)."""
    return f"gen-migrate swap {migration_id} step {index}"


class SwapPlan:
    """The steps swapping columns ``a`` and ``b`` of ``live``, appended to ``planner``."""

    def __init__(self, planner: Planner, live: LiveTable, a: str, b: str) -> None:
        self.p = planner
        self.live = live
        self.a, self.b = a, b
        self.src = live.name
        self.views = [
            view for view, vq in planner.readers(live.name) if vq.use(a).reads or vq.use(b).reads
        ]
        self.original = {view.name: view.as_select for view in self.views}

    def query(self, view: LiveTable, mapping: dict[str, str]) -> str:
        """``view``'s query as it was before the swap, reading ``mapping[c]`` for column c."""
        return ViewQuery(self.original[view.name], self.src, self.p.db).remapped(mapping)

    def refs(self, sql: str, names: set[str]) -> str:
        """The ``view_refs`` guard value of ``sql``: its references to ``names``, as JSON."""
        return json.dumps(ViewQuery(sql, self.src, self.p.db).refs(names))

    def plan(self) -> None:
        """Append the steps (and the plan note) of the route the table and types call for."""
        a, b, live = self.a, self.b, self.live
        ca, cb = live.columns[a], live.columns[b]
        if live.engine == "Null":
            if ca.type == cb.type:
                self.rewrite_views("the Null table holds no rows")
            else:
                self.null_types(ca, cb)
            return
        blocker = self.update_blocker(ca, cb)
        if blocker is None:
            self.by_update(ca, cb)
        else:
            self.by_renames(blocker)

    def update_blocker(self, ca: LiveColumn, cb: LiveColumn) -> str | None:
        """Why the values cannot be swapped by one ALTER UPDATE, or None."""
        if ca.type != cb.type:
            return f"the types differ ({ca.type}, {cb.type})"
        if "MergeTree" not in self.live.engine:
            return f"{self.src} is {self.live.engine}: no ALTER UPDATE"
        for col in (ca, cb):
            if col.default_kind in _NOT_UPDATABLE:
                return f"{self.src}.{col.name} is {col.default_kind}: ALTER UPDATE cannot write it"
        return None

    def rewrite_views(self, why: str) -> None:
        """One rewrite per view: read ``b AS a`` and ``a AS b`` (MODIFY QUERY, or the
        temp-view route when ``mv_strategy`` is ``exchange`` and the view has a TO table)."""
        a, b, src = self.a, self.b, self.src
        for view in self.views:
            sql = self.query(view, {a: b, b: a})
            refs = self.refs(sql, {a, b})
            title = f"read {b} as {a} and {a} as {b}"
            if self.p.config.mv_strategy == "exchange" and view.target_table:
                self.p.rewrite_view(view, sql, src, a, title, refs=refs)
                continue
            self.p.step(
                f"rewrite view {view.name} ({title}) with MODIFY QUERY",
                [self.p.alter(view.name, f"MODIFY QUERY {sql}")],
                Guard("view_refs", view.name, refs, src),
                f"MODIFY QUERY swaps the query at once (no insert is written twice); output names "
                f"and the target stay; {why}",
            )
            view.as_select = sql

    def by_update(self, ca: LiveColumn, cb: LiveColumn) -> None:
        """The views read swapped, the inserts begun before finish, one mutation swaps the
        values of the rows written so far."""
        a, b, src, p = self.a, self.b, self.src, self.p
        self.rewrite_views("the mutation below swaps the values of the rows already written")
        if self.views:
            p.settle(
                src,
                "its views read the swapped columns",
                "then every row a view took through its old query is in a part the swap "
                "mutation rewrites",
            )
        marker = mutation_marker(p.migration_id, len(p.steps))
        p.step(
            f"swap the values of {src}.{a} and {b}",
            [
                p.alter(
                    src,
                    f"UPDATE {ident(a)} = {ident(b)}, {ident(b)} = {ident(a)} "
                    f"WHERE {literal(marker)} != '' SETTINGS mutations_sync = 2",
                )
            ],
            Guard("swap_mutation", src, value=marker),
            "one mutation swaps the values of the rows written so far (both expressions read "
            "the row before the update) and waits for it; rows inserted after it is created "
            "stay as written (Postgres sends them swapped once its own swap ran). After the "
            "views: every row a view took through its old query is swapped; only a row "
            "inserted between the last view rewrite and the mutation reaches its target through "
            "the new query and is swapped too. In the other order every row inserted while the "
            "mutation runs would reach its target through the old query and stay unswapped. "
            "The WHERE is always true and names this step: a rerun finds the mutation in "
            "system.mutations and waits for it (a second swap would undo the first)",
        )
        p.notes.append(
            f"swap {src}.{a} <-> {b}: same type, no column renamed (no insert fails): "
            + (
                f"views {', '.join(v.name for v in self.views)} read {b} as {a} and {a} as {b}, "
                "then "
                if self.views
                else ""
            )
            + "one mutation swaps the values of the rows already written"
        )
        if (ca.default_kind, ca.default_expression) != (cb.default_kind, cb.default_expression):
            p.notes.append(
                f"swap {src}.{a} <-> {b}: their DEFAULTs stay with the names (rows always "
                "carry both values)"
            )

    def by_renames(self, why: str) -> None:
        """Three guarded renames; each MODIFY QUERYs the views it breaks right after it."""
        a, b, src, p = self.a, self.b, self.src, self.p
        tmp = SWAP_PREFIX + a
        names = {a, b, tmp}
        mapping = {a: a, b: b}
        previous = {view.name: self.query(view, mapping) for view in self.views}
        for old, new, guard in (
            (a, tmp, Guard("column_exists", src, tmp)),
            (b, a, Guard("column_absent", src, b)),
            (tmp, b, Guard("column_absent", src, tmp)),
        ):
            mapping = {k: new if v == old else v for k, v in mapping.items()}
            statements = [p.alter(src, f"RENAME COLUMN {ident(old)} TO {ident(new)}")]
            guards = [guard]
            rewritten = []
            for view in self.views:
                sql = self.query(view, mapping)
                if sql == previous[view.name]:
                    continue
                previous[view.name] = sql
                statements.append(p.alter(view.name, f"MODIFY QUERY {sql}"))
                guards.append(Guard("view_refs", view.name, self.refs(sql, names), src))
                view.as_select = sql
                rewritten.append(view.name)
            p.step(
                f"rename column {src}.{old} to {new}"
                + (f" and rewrite views {', '.join(rewritten)}" if rewritten else ""),
                statements,
                guards,
                "statements back to back: the views read each column under its old output "
                "name again right after the rename moves it"
                if rewritten
                else "",
            )
            live = self.live
            live.columns = {
                (new if n == old else n): (
                    LiveColumn(new, c.type, c.default_kind, c.default_expression) if n == old else c
                )
                for n, c in live.columns.items()
            }
        p.notes.append(
            f"swap {src}.{a} <-> {b} by three renames because {why}: ClickHouse refuses chained "
            "renames in one ALTER, so between the first and the last rename an insert naming "
            f"{a} or {b} fails"
            + (
                ", and the types flip under each name, so an insert still sending the old types "
                "fails where a value does not convert"
                if self.live.columns[a].type != self.live.columns[b].type
                else ""
            )
            + (
                f"; views {', '.join(v.name for v in self.views)} keep feeding their targets "
                "the same values"
                if self.views
                else ""
            )
        )

    def null_types(self, ca: LiveColumn, cb: LiveColumn) -> None:
        """Null table, different types: one ALTER exchanges the types, then the views."""
        a, b, src, p = self.a, self.b, self.src, self.p
        statements = [
            p.alter(src, f"MODIFY COLUMN {ident(a)} {cb.type}, MODIFY COLUMN {ident(b)} {ca.type}")
        ]
        guards = [Guard("column_type", src, a, cb.type)]
        for view in self.views:
            sql = self.query(view, {a: b, b: a})
            statements.append(p.alter(view.name, f"MODIFY QUERY {sql}"))
            guards.append(Guard("view_refs", view.name, self.refs(sql, {a, b}), src))
            view.as_select = sql
        names = ", ".join(v.name for v in self.views)
        p.step(
            f"exchange the types of {src}.{a} and {b} (swap on a Null table)"
            + (f" and rewrite views {names}" if names else ""),
            statements,
            guards,
            "one ALTER, the view rewrites right after it: the Null table holds no rows",
        )
        ca.type, cb.type = cb.type, ca.type
        p.notes.append(
            f"swap {src}.{a} <-> {b} (Null table): the types flip under each name, so an insert "
            "still sending the old types fails where a value does not convert"
        )
