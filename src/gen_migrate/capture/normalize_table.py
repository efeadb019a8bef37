"""CREATE TABLE (plain, LIKE, INHERITS, PARTITION OF) and column definitions → operations."""

from __future__ import annotations

from typing import Any

from gen_migrate.capture.construct import construct, replace
from gen_migrate.capture.context import Ctx, JsonNode, Skip, Unsupported, range_ref
from gen_migrate.capture.pgtypes import is_serial, quote_ident
from gen_migrate.generic.operations import Column, CreateTable, TableRef

_LIKE_DEFAULTS = 1 << 3
_LIKE_GENERATED = 1 << 4
_LIKE_IDENTITY = 1 << 5
_LIKE_INDEXES = 1 << 6
_IDENTITY = {"a": "always", "d": "by_default"}


def serial_default(table: TableRef, column: str) -> str:
    """The default Postgres gives a serial column: ``nextval`` of its implicit sequence, named
    the way Postgres names it (``<table>_<column>_seq`` cut to 63 bytes, longer part first)."""
    seq = quote_ident(_object_name(table.name, column, "seq"))
    if table.schema != "public":
        seq = f"{quote_ident(table.schema)}.{seq}"
    return f"nextval('{seq}'::regclass)"


def _object_name(name1: str, name2: str, label: str) -> str:
    one, two = name1.encode(), name2.encode()
    available = 63 - 1 - (len(label) + 1)
    n1, n2 = len(one), len(two)
    while n1 + n2 > available:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    head = one[:n1].decode(errors="ignore")
    tail = two[:n2].decode(errors="ignore")
    return f"{head}_{tail}_{label}"


def column_from_def(ctx: Ctx, table: TableRef, cdef: JsonNode) -> tuple[Column, bool]:
    """A generic column from a JSON ``ColumnDef``; the flag says it is (part of) a primary key."""
    name: str = cdef["colname"]
    tn = cdef.get("typeName")
    if tn is None:
        raise Unsupported(f"column {name} has no type")
    fields: dict[str, Any] = {"name": name, "type": ctx.type_of(tn), "nullable": True}
    if is_serial(tn):
        fields["default"] = serial_default(table, name)
        fields["nullable"] = False
    if cdef.get("is_not_null"):
        fields["nullable"] = False
    constraints = cdef.get("constraints")
    primary = _apply_constraints(ctx, fields, constraints) if constraints else False
    return construct(Column, **fields), primary


def _apply_constraints(ctx: Ctx, fields: dict[str, Any], constraints: Any) -> bool:
    primary = False
    for item in constraints:
        con = item["Constraint"]
        kind = con["contype"]
        if kind == "CONSTR_NOTNULL":
            fields["nullable"] = False
        elif kind == "CONSTR_NULL":
            fields["nullable"] = True
        elif kind == "CONSTR_DEFAULT":
            fields["default"] = ctx.expression(
                "DEFAULT", con["raw_expr"], con.get("location", -1), column_constraint=True
            )
        elif kind == "CONSTR_IDENTITY":
            fields["identity"] = _IDENTITY.get(con.get("generated_when", "a"), "always")
            fields["nullable"] = False
        elif kind == "CONSTR_GENERATED":
            fields["generated"] = ctx.expression("AS", con["raw_expr"])
        elif kind == "CONSTR_PRIMARY":
            primary = True
            fields["nullable"] = False
    return primary


def create_table(ctx: Ctx, node: JsonNode) -> str:
    """``CreateStmt`` → CreateTable (temporary tables are skipped)."""
    rel = node["relation"]
    ref = range_ref(rel)
    if rel.get("relpersistence") == "t" or ref.schema == "pg_temp":
        ctx.state.others.add(ref)
        raise Skip("temporary table: not replicated")
    if node.get("ofTypename"):
        raise Unsupported("CREATE TABLE … OF a composite type: its columns are not known")
    if ref in ctx.schema.tables:
        if node.get("if_not_exists"):
            raise Skip(f"table {ref} exists (IF NOT EXISTS)")
        raise Unsupported(f"table {ref} already exists")
    columns: dict[str, Column] = {}
    pk: list[str] = []
    parents = [range_ref(p["RangeVar"]) for p in node.get("inhRelations", ())]
    for parent in parents:
        pts = ctx.table(parent)
        assert pts is not None
        for col in pts.columns.values():
            if col.name not in columns:
                keep = node.get("partbound") or col.identity is None
                columns[col.name] = col if keep else replace(col, identity=None)
    for item in node.get("tableElts", ()):
        if "ColumnDef" in item:
            cdef = item["ColumnDef"]
            name = cdef["colname"]
            if name in columns and cdef.get("typeName") is None:
                fields = dict(columns[name])
                if cdef.get("is_not_null"):
                    fields["nullable"] = False
                if _apply_constraints(ctx, fields, cdef.get("constraints", ())):
                    pk.append(name)
                columns[name] = construct(Column, **fields)
                continue
            col, primary = column_from_def(ctx, ref, cdef)
            if name in columns:
                inherited = columns[name]
                if not col.type.same(inherited.type):
                    raise Unsupported(
                        f"column {name} has type {col.type.pg}, the inherited one "
                        f"{inherited.type.pg}"
                    )
                col = replace(
                    col,
                    nullable=col.nullable and inherited.nullable,
                    default=col.default if col.default is not None else inherited.default,
                )
            columns[name] = col
            if primary:
                pk.append(name)
        elif "Constraint" in item:
            pk.extend(_table_constraint(item["Constraint"], columns))
        elif "TableLikeClause" in item:
            pk.extend(_like(ctx, item["TableLikeClause"], columns))
        else:
            raise Unsupported(f"table element {next(iter(item))} is not understood")
    for name in pk:
        if name not in columns:
            raise Unsupported(f"primary key column {name} is not a column of {ref}")
        if columns[name].nullable:
            columns[name] = replace(columns[name], nullable=False)
    ctx.emit(construct(CreateTable, table=ref, columns=list(columns.values()), primary_key=pk))
    for parent in parents:
        ctx.state.children.setdefault(parent, []).append(ref)
    if node.get("partbound"):
        ctx.state.partitions.add(ref)
    how = "partition of " if node.get("partbound") else ""
    return f"create table {ref}" + (f" ({how}{', '.join(map(str, parents))})" if parents else "")


def _table_constraint(con: JsonNode, columns: dict[str, Column]) -> list[str]:
    keys = [k["String"]["sval"] for k in con.get("keys", ())]
    if con["contype"] == "CONSTR_PRIMARY":
        return keys
    if con["contype"] == "CONSTR_NOTNULL":
        for name in keys:
            if name in columns:
                columns[name] = replace(columns[name], nullable=False)
    return []


def _like(ctx: Ctx, like: JsonNode, columns: dict[str, Column]) -> list[str]:
    src = ctx.table(range_ref(like["relation"]))
    assert src is not None
    options = like.get("options", 0)
    for col in src.columns.values():
        update: dict[str, Any] = {}
        if not options & _LIKE_DEFAULTS:
            update["default"] = None
        if not options & _LIKE_IDENTITY:
            update["identity"] = None
        if not options & _LIKE_GENERATED:
            update["generated"] = None
        columns[col.name] = replace(col, **update) if update else col
    return list(src.primary_key) if options & _LIKE_INDEXES else []
