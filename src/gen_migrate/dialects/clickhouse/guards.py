"""Guards: how a step knows it already ran, checked against the live database on resume."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from gen_migrate.dialects.clickhouse.quoting import ident, literal
from gen_migrate.errors import StepFailedError

MUTATION_POLL_SECONDS = 0.05
ABSENT_OR = "absent_or_"


@dataclass(frozen=True)
class Guard:
    """A check whose truth means the step's effect is present.

    ``kind``: ``table_exists``, ``table_absent``, ``renamed`` (``table`` absent and ``value``
    exists), ``column_exists``, ``column_absent``, ``column_renamed`` (``column`` absent and
    ``value`` present), ``column_type`` (``column`` has type ``value``), ``view_clean`` (view
    ``table`` no longer reads column ``column`` of source ``value``), ``temp_or_clean`` (temp view
    ``extra`` exists or ``view_clean`` holds), ``view_has`` (view ``table`` passes ``column``
    through), ``temp_or_has``, ``view_no_star`` (view ``table`` lists its columns),
    ``column_default`` (``column``'s DEFAULT expression is ``value``, empty for none),
    ``column_materialized`` (a finished ``MATERIALIZE COLUMN column`` mutation of ``table``
    exists), ``view_refs`` (view ``table`` mentions the columns of source ``value`` named in the
    JSON list ``column`` exactly in that order: a rewrite of those names is live),
    ``temp_or_refs`` (temp view ``extra`` exists or ``view_refs`` holds), ``swap_mutation`` (the
    mutation of ``table`` whose command holds the marker ``value`` exists; the check waits for
    it to finish), ``absent_or_<kind>`` (``table`` does not exist or guard ``<kind>`` with the
    same fields holds), ``never`` (always run: a pure check).
    """

    kind: str
    table: str = ""
    column: str = ""
    value: str = ""
    extra: str = ""

    def describe(self) -> str:
        """One line for plans."""
        k = self.kind
        if k.startswith(ABSENT_OR):
            inner = replace(self, kind=k[len(ABSENT_OR) :]).describe()
            return f"{self.table} does not exist or {inner}"
        refs = ", ".join(json.loads(self.column)) if k in ("view_refs", "temp_or_refs") else ""
        text = {
            "table_exists": f"table {self.table} exists",
            "table_absent": f"table {self.table} does not exist",
            "renamed": f"{self.table} gone and {self.value} exists",
            "column_exists": f"column {self.table}.{self.column} exists",
            "column_absent": f"column {self.table}.{self.column} does not exist",
            "column_renamed": f"{self.table}.{self.column} gone and {self.value} exists",
            "column_type": f"{self.table}.{self.column} has type {self.value}",
            "view_clean": f"view {self.table} no longer reads {self.value}.{self.column}",
            "view_has": f"view {self.table} passes {self.value}.{self.column} through",
            "temp_or_clean": f"{self.extra} exists or view {self.table} no longer reads "
            f"{self.value}.{self.column}",
            "temp_or_has": f"{self.extra} exists or view {self.table} passes "
            f"{self.value}.{self.column} through",
            "view_no_star": f"view {self.table} lists its columns (no *)",
            "column_default": f"{self.table}.{self.column} has "
            + (f"DEFAULT {self.value}" if self.value else "no DEFAULT"),
            "column_materialized": f"MATERIALIZE COLUMN {self.column} of {self.table} finished",
            "view_refs": f"view {self.table} reads {self.value} columns {refs} in that order",
            "temp_or_refs": f"{self.extra} exists or view {self.table} reads {self.value} "
            f"columns {refs} in that order",
            "swap_mutation": f"mutation {self.value!r} of {self.table} exists (a rerun waits "
            "for it to finish, never issues it twice)",
            "never": "always runs (read-only check)",
        }
        return text.get(k, k)

    def to_dict(self) -> dict[str, str]:
        """JSON form, stored with the plan."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Guard:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: str(v) for k, v in data.items()})


def step_guards(payload: Any, statements: int) -> list[Guard]:
    """One guard per statement: a step's payload is a Guard (shared by its statements) or a
    list of Guards aligned with its statements."""
    if isinstance(payload, list):
        return [g if isinstance(g, Guard) else Guard("never") for g in payload]
    guard = payload if isinstance(payload, Guard) else Guard("never")
    return [guard] * statements


def guard_holds(client: Any, database: str, guard: Guard) -> bool:
    """Evaluate ``guard`` with one or two small catalog queries."""
    from gen_migrate.dialects.clickhouse.views import ViewQuery

    db = literal(database)

    def table_info(name: str) -> tuple[bool, str]:
        rows = client.query(
            f"SELECT as_select FROM system.tables WHERE database = {db} AND name = {literal(name)}"
        ).result_rows
        return (bool(rows), rows[0][0] if rows else "")

    def column_field(table: str, column: str, field: str = "type") -> str | None:
        """``field`` of the column in ``system.columns``; None when the column is absent."""
        rows = client.query(
            f"SELECT {field} FROM system.columns WHERE database = {db} "
            f"AND table = {literal(table)} AND name = {literal(column)}"
        ).result_rows
        return str(rows[0][0]) if rows else None

    def materialized(table: str, column: str) -> bool:
        rows = client.query(
            f"SELECT command FROM system.mutations WHERE database = {db} "
            f"AND table = {literal(table)} AND is_done "
            "AND position(command, 'MATERIALIZE COLUMN') > 0"
        ).result_rows
        names = {column, ident(column)}
        return any(
            str(r[0]).strip("()").strip()[len("MATERIALIZE COLUMN ") :] in names for r in rows
        )

    def view_clean(view: str) -> bool:
        exists, query = table_info(view)
        if not exists:
            return False
        return not ViewQuery(query, guard.value, database).use(guard.column).reads

    def view_refs(view: str) -> bool:
        exists, query = table_info(view)
        expected = json.loads(guard.column)
        vq = ViewQuery(query, guard.value, database) if exists else None
        return vq is not None and vq.refs(set(expected)) == expected

    k = guard.kind
    if k.startswith(ABSENT_OR):
        inner = replace(guard, kind=k[len(ABSENT_OR) :])
        return not table_info(guard.table)[0] or guard_holds(client, database, inner)
    if k == "view_refs":
        return view_refs(guard.table)
    if k == "temp_or_refs":
        return table_info(guard.extra)[0] or view_refs(guard.table)
    if k == "swap_mutation":
        return mutation_finished(client, db, guard)
    if k == "table_exists":
        return table_info(guard.table)[0]
    if k == "table_absent":
        return not table_info(guard.table)[0]
    if k == "renamed":
        return not table_info(guard.table)[0] and table_info(guard.value)[0]
    if k == "column_exists":
        return column_field(guard.table, guard.column) is not None
    if k == "column_absent":
        return column_field(guard.table, guard.column) is None
    if k == "column_renamed":
        return (
            column_field(guard.table, guard.column) is None
            and column_field(guard.table, guard.value) is not None
        )
    if k == "column_type":
        return column_field(guard.table, guard.column) == guard.value
    if k == "view_clean":
        return view_clean(guard.table)
    if k == "column_default":
        return column_field(guard.table, guard.column, "default_expression") == guard.value
    if k == "column_materialized":
        return materialized(guard.table, guard.column)
    if k == "view_has":
        exists, query = table_info(guard.table)
        return exists and guard.column in ViewQuery(query, guard.value, database).outputs()
    if k == "view_no_star":
        exists, query = table_info(guard.table)
        return exists and not ViewQuery(query, guard.value, database).has_star()
    if k == "temp_or_has":
        if table_info(guard.extra)[0]:
            return True
        exists, query = table_info(guard.table)
        return exists and guard.column in ViewQuery(query, guard.value, database).outputs()
    if k == "temp_or_clean":
        return table_info(guard.extra)[0] or view_clean(guard.table)
    return False


def mutation_finished(client: Any, db: str, guard: Guard) -> bool:
    """True once the mutation of ``guard.table`` carrying the marker ``guard.value`` (as a
    quoted literal, so ``step 1`` does not match ``step 10``) is done, False when there is none;
    waits while it runs (issuing it again would undo it). Raises ``StepFailedError`` when
    ClickHouse reports it failing, so a rerun after the fix resumes."""
    sql = (
        "SELECT is_done, latest_fail_reason FROM system.mutations WHERE database = "
        f"{db} AND table = {literal(guard.table)} "
        f"AND position(command, {literal(literal(guard.value))}) > 0"
    )
    while True:
        rows = client.query(sql).result_rows
        if not rows:
            return False
        if any(done for done, _ in rows):
            return True
        reasons = [str(reason) for _, reason in rows if reason]
        if reasons:
            raise StepFailedError(
                f"mutation {guard.value!r} of {guard.table} is failing: {reasons[0][:300]}; "
                "fix the cause and rerun (it resumes by waiting for the mutation)"
            )
        time.sleep(MUTATION_POLL_SECONDS)
