"""ALTER TABLE (every action, multi-action, IF [NOT] EXISTS, ONLY, inheritance) → operations."""

from __future__ import annotations

import re
from collections.abc import Callable

from gen_migrate.capture.construct import construct
from gen_migrate.capture.context import Ctx, JsonNode, Skip, Unsupported, range_ref
from gen_migrate.capture.normalize_table import column_from_def
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    DropColumn,
    SetDefault,
    SetNullable,
    TableRef,
)
from gen_migrate.generic.safety import classify

_NOT_A_TABLE = {
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_FOREIGN_TABLE": "foreign table",
    "OBJECT_INDEX": "index",
    "OBJECT_SEQUENCE": "sequence",
    "OBJECT_TYPE": "composite type",
}

NO_COLUMN_CHANGE = {
    "AT_AddIndex": "add index",
    "AT_ReAddIndex": "add index",
    "AT_AlterConstraint": "alter constraint",
    "AT_ValidateConstraint": "validate constraint",
    "AT_AddIndexConstraint": "add constraint using index",
    "AT_DropConstraint": "drop constraint",
    "AT_SetStatistics": "set statistics",
    "AT_SetOptions": "set column options",
    "AT_ResetOptions": "reset column options",
    "AT_SetStorage": "set storage",
    "AT_SetCompression": "set compression",
    "AT_AlterColumnGenericOptions": "column generic options",
    "AT_ChangeOwner": "owner",
    "AT_ClusterOn": "cluster on",
    "AT_DropCluster": "set without cluster",
    "AT_SetLogged": "set logged",
    "AT_SetUnLogged": "set unlogged",
    "AT_DropOids": "set without oids",
    "AT_SetAccessMethod": "set access method",
    "AT_SetTableSpace": "set tablespace",
    "AT_SetRelOptions": "set storage parameters",
    "AT_ResetRelOptions": "reset storage parameters",
    "AT_ReplaceRelOptions": "storage parameters",
    "AT_EnableTrig": "enable trigger",
    "AT_EnableAlwaysTrig": "enable trigger",
    "AT_EnableReplicaTrig": "enable trigger",
    "AT_DisableTrig": "disable trigger",
    "AT_EnableTrigAll": "enable triggers",
    "AT_DisableTrigAll": "disable triggers",
    "AT_EnableTrigUser": "enable triggers",
    "AT_DisableTrigUser": "disable triggers",
    "AT_EnableRule": "enable rule",
    "AT_EnableAlwaysRule": "enable rule",
    "AT_EnableReplicaRule": "enable rule",
    "AT_DisableRule": "disable rule",
    "AT_AddInherit": "inherit (columns must already match)",
    "AT_DropInherit": "no inherit",
    "AT_DropOf": "not of type",
    "AT_ReplicaIdentity": "replica identity",
    "AT_EnableRowSecurity": "row level security",
    "AT_DisableRowSecurity": "row level security",
    "AT_ForceRowSecurity": "row level security",
    "AT_NoForceRowSecurity": "row level security",
    "AT_GenericOptions": "generic options",
    "AT_AttachPartition": "attach partition (columns must already match)",
    "AT_DetachPartition": "detach partition",
    "AT_DetachPartitionFinalize": "detach partition",
    "AT_AddIdentity": "identity (column must already be NOT NULL)",
    "AT_SetIdentity": "identity options",
    "AT_DropIdentity": "drop identity",
    "AT_SetExpression": "generation expression",
    "AT_DropExpression": "drop generation expression",
}
"""ALTER TABLE actions that leave every column's name, type, nullability and default alone."""

_Action = Callable[[Ctx, TableRef, JsonNode], None]


_SUBTYPE = re.compile(r'"subtype":"(AT_\w+)"')
_CONTYPE = re.compile(r'"contype":"(CONSTR_\w+)"')
_OBJTYPE = re.compile(r'"objtype":"(OBJECT_\w+)"')


def shallow_skip(payload: str) -> str | None:
    """Why an ALTER TABLE whose actions cannot change columns is skipped, decided without
    decoding its tree; ``None`` when the statement needs the full translation.

    Works on the JSON text: the action and constraint kinds are enum names, which never occur
    escaped in strings.
    """
    first = _SUBTYPE.search(payload)
    if first is None or first.group(1) not in _SHALLOW_OK:
        return None  # most ALTER TABLEs: decided by the first action, before the rest is read
    subtypes = _SUBTYPE.findall(payload)
    if not _SHALLOW_OK.issuperset(subtypes):
        return None
    contypes = _CONTYPE.findall(payload)
    if any(c in ("CONSTR_PRIMARY", "CONSTR_NOTNULL") for c in contypes):
        return None
    objtypes = _OBJTYPE.findall(payload)
    kind = objtypes[-1] if objtypes else "OBJECT_TABLE"
    if kind in _NOT_A_TABLE:
        return f"ALTER on a {_NOT_A_TABLE[kind]}: not a replicated table"
    described = []
    constraints = iter(contypes)
    for sub in subtypes:
        if sub == "AT_AddConstraint":
            con = next(constraints, "CONSTR_?").removeprefix("CONSTR_").lower()
            described.append(f"add constraint {con.replace('_', ' ')}")
        else:
            described.append(NO_COLUMN_CHANGE[sub])
    return f"no column change ({', '.join(dict.fromkeys(described))})"


def alter_table(ctx: Ctx, node: JsonNode) -> str:
    """``AlterTableStmt`` → operations for each action, in order."""
    objtype = node.get("objtype", "OBJECT_TABLE")
    if objtype in _NOT_A_TABLE:
        raise Skip(f"ALTER on a {_NOT_A_TABLE[objtype]}: not a replicated table")
    rel = node["relation"]
    ref = range_ref(rel)
    cmds = [c["AlterTableCmd"] for c in node.get("cmds", ())]
    if ref not in ctx.schema.tables:
        if ref in ctx.state.others:
            raise Skip(f"{ref} is not a replicated table (view, temporary or foreign table)")
        if node.get("missing_ok"):
            raise Skip(f"table {ref} does not exist (IF EXISTS)")
        if all(s in NO_COLUMN_CHANGE or _harmless_constraint(c) for c, s in _pairs(cmds)):
            raise Skip(f"no column change ({_describe(cmds)}) on unknown table {ref}")
        ctx.table(ref)
    recurse = rel.get("inh", False)
    children = ctx.state.children
    for cmd in cmds:
        cmd["_recurse"] = recurse  # read by _add_column: whether the statement recurses (no ONLY)
        sub = cmd["subtype"]
        action = _ACTIONS.get(sub)
        if action is not None:
            if not (recurse and children.get(ref)):
                action(ctx, ref, cmd)
                continue
            for i, target in enumerate(_targets(ctx, ref, recurse)):
                if i == 0 or _applies_to_child(ctx, target, cmd):
                    action(ctx, target, cmd)
        elif sub == "AT_AddConstraint":
            _add_constraint(ctx, ref, cmd)
        elif sub in _LINKS:
            _LINKS[sub](ctx, ref, cmd)
        elif sub == "AT_AddOf":
            raise Unsupported("ALTER TABLE … OF a composite type: its columns are not known")
        elif sub not in NO_COLUMN_CHANGE:
            raise Unsupported(f"ALTER TABLE action {sub.removeprefix('AT_')} is not understood")
    if not ctx.ops:
        raise Skip("; ".join(ctx.notes) or f"no column change ({_describe(cmds)})")
    return f"alter table {ref}"


def _pairs(cmds: list[JsonNode]) -> list[tuple[JsonNode, str]]:
    return [(c, c["subtype"]) for c in cmds]


def _describe(cmds: list[JsonNode]) -> str:
    out = []
    for cmd in cmds:
        sub = cmd["subtype"]
        if sub == "AT_AddConstraint":
            con = cmd.get("def", {}).get("Constraint", {})
            kind = con.get("contype", "CONSTR_?").removeprefix("CONSTR_").lower()
            out.append(f"add constraint {kind.replace('_', ' ')}")
        else:
            out.append(NO_COLUMN_CHANGE.get(sub, sub.removeprefix("AT_")))
    return ", ".join(dict.fromkeys(out))


def _harmless_constraint(cmd: JsonNode) -> bool:
    if cmd["subtype"] != "AT_AddConstraint":
        return False
    con = cmd.get("def", {}).get("Constraint", {})
    return con.get("contype") not in ("CONSTR_PRIMARY", "CONSTR_NOTNULL")


def _targets(ctx: Ctx, ref: TableRef, recurse: bool) -> list[TableRef]:
    out = [ref]
    if recurse:
        i = 0
        while i < len(out):
            out.extend(
                c
                for c in ctx.state.children.get(out[i], ())
                if c in ctx.schema.tables and c not in out
            )
            i += 1
    return out


def _applies_to_child(ctx: Ctx, child: TableRef, cmd: JsonNode) -> bool:
    columns = ctx.schema.tables[child].columns
    if cmd["subtype"] == "AT_AddColumn":
        return cmd["def"]["ColumnDef"]["colname"] not in columns
    return cmd.get("name") in columns


def _add_column(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    ts = ctx.schema.tables[ref]  # known: alter_table and _targets checked it
    cdef = cmd["def"]["ColumnDef"]
    col, _ = column_from_def(ctx, ref, cdef)
    name = cdef["colname"]
    if not cmd["_recurse"] and ctx.state.children.get(ref):
        raise Unsupported(f"column {name} must be added to the tables inheriting {ref} too")
    if name in ts.columns and cmd.get("missing_ok"):
        ctx.notes.append(f"column {ref}.{name} exists (IF NOT EXISTS)")
        return
    ctx.emit(construct(AddColumn, table=ref, column=col))


def _drop_column(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    ts = ctx.table(ref)
    assert ts is not None
    name = cmd["name"]
    col = ts.columns.get(name)
    if col is None:
        if cmd.get("missing_ok"):
            ctx.notes.append(f"column {ref}.{name} does not exist (IF EXISTS)")
            return
        raise Unsupported(f"column {ref}.{name} does not exist")
    ctx.emit(construct(DropColumn, table=ref, column=name, type=col.type))


def _column(ctx: Ctx, ref: TableRef, name: str) -> None:
    ts = ctx.table(ref)
    assert ts is not None
    if name not in ts.columns:
        raise Unsupported(f"column {ref}.{name} does not exist")


def _alter_type(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    name = cmd["name"]
    _column(ctx, ref, name)
    old = ctx.schema.tables[ref].columns[name].type
    cdef = cmd["def"]["ColumnDef"]
    new = ctx.type_of(cdef["typeName"])
    using = ctx.expression("USING", cdef["raw_default"]) if cdef.get("raw_default") else None
    ctx.emit(
        construct(
            AlterColumnType,
            table=ref,
            column=name,
            old_type=old,
            new_type=new,
            safety=classify(old, new),
            using=using or None,
        )
    )


def _set_not_null(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _column(ctx, ref, cmd["name"])
    ctx.emit(construct(SetNullable, table=ref, column=cmd["name"], nullable=False))


def _drop_not_null(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _column(ctx, ref, cmd["name"])
    ctx.emit(construct(SetNullable, table=ref, column=cmd["name"], nullable=True))


def _column_default(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _column(ctx, ref, cmd["name"])
    expr = cmd.get("def")
    text = ctx.expression("DEFAULT", expr) if expr is not None else None
    ctx.emit(construct(SetDefault, table=ref, column=cmd["name"], default=text or None))


def _add_constraint(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    con = cmd.get("def", {}).get("Constraint", {})
    if con.get("contype") not in ("CONSTR_PRIMARY", "CONSTR_NOTNULL"):
        return
    ts = ctx.table(ref)
    assert ts is not None
    keys = [k["String"]["sval"] for k in con.get("keys", ())]
    if con.get("indexname"):
        found = ctx.state.index_columns(ref.schema, con["indexname"])
        if found is None:
            raise Unsupported(
                f"PRIMARY KEY USING INDEX {con['indexname']}: the index was not created in "
                "this text, so its columns are not known"
            )
        keys = found
    for name in keys:
        _column(ctx, ref, name)
        if ts.columns[name].nullable:
            ctx.emit(construct(SetNullable, table=ref, column=name, nullable=False))


def _link(ctx: Ctx, parent: TableRef, child: TableRef, partition: bool) -> None:
    seen, todo = set(), [child]
    while todo:
        cur = todo.pop()
        if cur == parent:
            raise Unsupported(f"circular inheritance: {parent} already inherits from {child}")
        if cur not in seen:
            seen.add(cur)
            todo.extend(ctx.state.children.get(cur, ()))
    kids = ctx.state.children.setdefault(parent, [])
    if child not in kids:
        kids.append(child)
    if partition:
        ctx.state.partitions.add(child)


def _unlink(ctx: Ctx, parent: TableRef, child: TableRef) -> None:
    kids = ctx.state.children.get(parent, [])
    if child in kids:
        kids.remove(child)
    ctx.state.partitions.discard(child)


def _attach(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _link(ctx, ref, range_ref(cmd["def"]["PartitionCmd"]["name"]), True)


def _detach(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _unlink(ctx, ref, range_ref(cmd["def"]["PartitionCmd"]["name"]))


def _inherit(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _link(ctx, range_ref(cmd["def"]["RangeVar"]), ref, False)


def _no_inherit(ctx: Ctx, ref: TableRef, cmd: JsonNode) -> None:
    _unlink(ctx, range_ref(cmd["def"]["RangeVar"]), ref)


_LINKS: dict[str, _Action] = {
    "AT_AttachPartition": _attach,
    "AT_DetachPartition": _detach,
    "AT_DetachPartitionFinalize": _detach,
    "AT_AddInherit": _inherit,
    "AT_DropInherit": _no_inherit,
}
"""Actions that change which tables inherit from which: no operation, but later ALTERs of the
parent recurse differently."""

_ACTIONS: dict[str, _Action] = {
    "AT_AddColumn": _add_column,
    "AT_DropColumn": _drop_column,
    "AT_AlterColumnType": _alter_type,
    "AT_SetNotNull": _set_not_null,
    "AT_DropNotNull": _drop_not_null,
    "AT_ColumnDefault": _column_default,
}

_SHALLOW_OK = frozenset(NO_COLUMN_CHANGE.keys() - _LINKS.keys() | {"AT_AddConstraint"})
"""Actions :func:`shallow_skip` may decide from the JSON text."""
