"""DROP …, ALTER … RENAME …, ALTER … SET SCHEMA → operations (or a skip for non-tables)."""

from __future__ import annotations

from gen_migrate.capture.construct import construct
from gen_migrate.capture.context import (
    Ctx,
    JsonNode,
    Skip,
    Unsupported,
    name_ref,
    range_ref,
)
from gen_migrate.capture.normalize_types import drop_type, rename_type
from gen_migrate.capture.pgtypes import table_ref
from gen_migrate.generic.operations import DropTable, RenameColumn, RenameTable, TableRef

_OBJECT_NAMES = {
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_FOREIGN_TABLE": "foreign table",
    "OBJECT_INDEX": "index",
    "OBJECT_SEQUENCE": "sequence",
    "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "procedure",
    "OBJECT_ROUTINE": "routine",
    "OBJECT_TRIGGER": "trigger",
    "OBJECT_RULE": "rule",
    "OBJECT_POLICY": "policy",
    "OBJECT_TABCONSTRAINT": "constraint",
    "OBJECT_DOMCONSTRAINT": "domain constraint",
    "OBJECT_EXTENSION": "extension",
    "OBJECT_ROLE": "role",
    "OBJECT_DATABASE": "database",
    "OBJECT_TABLESPACE": "tablespace",
    "OBJECT_AGGREGATE": "aggregate",
    "OBJECT_OPERATOR": "operator",
    "OBJECT_COLLATION": "collation",
    "OBJECT_CONVERSION": "conversion",
    "OBJECT_PUBLICATION": "publication",
    "OBJECT_SUBSCRIPTION": "subscription",
    "OBJECT_STATISTIC_EXT": "statistics",
    "OBJECT_ATTRIBUTE": "composite type attribute",
    "OBJECT_EVENT_TRIGGER": "event trigger",
    "OBJECT_FDW": "foreign data wrapper",
    "OBJECT_FOREIGN_SERVER": "foreign server",
    "OBJECT_CAST": "cast",
    "OBJECT_LANGUAGE": "language",
    "OBJECT_OPCLASS": "operator class",
    "OBJECT_OPFAMILY": "operator family",
    "OBJECT_TSCONFIGURATION": "text search configuration",
    "OBJECT_TSDICTIONARY": "text search dictionary",
    "OBJECT_TSPARSER": "text search parser",
    "OBJECT_TSTEMPLATE": "text search template",
    "OBJECT_ACCESS_METHOD": "access method",
    "OBJECT_TRANSFORM": "transform",
    "OBJECT_USER_MAPPING": "user mapping",
    "OBJECT_DEFAULT": "default privileges",
    "OBJECT_AMOP": "operator",
    "OBJECT_AMPROC": "support function",
    "OBJECT_LARGEOBJECT": "large object",
    "OBJECT_PARAMETER_ACL": "parameter",
}
_TYPES = ("OBJECT_TYPE", "OBJECT_DOMAIN")


def _what(objtype: str) -> str:
    return _OBJECT_NAMES.get(objtype, objtype.removeprefix("OBJECT_").lower())


def drop(ctx: Ctx, node: JsonNode) -> str:
    """``DropStmt`` → DropTable / DropType; other objects are skipped."""
    kind = node.get("removeType", "")
    cascade = node.get("behavior") == "DROP_CASCADE"
    missing_ok = bool(node.get("missing_ok"))
    objects = node.get("objects", ())
    if kind == "OBJECT_TABLE":
        for obj in objects:
            ref = name_ref(obj["List"]["items"])
            if ref not in ctx.schema.tables:
                if ref in ctx.state.others:
                    ctx.state.others.discard(ref)
                    ctx.notes.append(f"{ref} is not a replicated table")
                    continue
                if missing_ok:
                    ctx.notes.append(f"table {ref} does not exist (IF EXISTS)")
                    continue
                ctx.table(ref)
            if ref in ctx.schema.tables:
                _drop_table(ctx, ref, cascade)
        if not ctx.ops:
            raise Skip("; ".join(ctx.notes) or "nothing to drop")
        return "drop table"
    if kind in _TYPES:
        for obj in objects:
            ref = name_ref(obj["TypeName"]["names"])
            if not drop_type(ctx, ref, cascade):
                ctx.notes.append(f"type {ref} is not an enum or domain known here")
        if not ctx.ops:
            raise Skip("; ".join(ctx.notes))
        return "drop type"
    if kind == "OBJECT_SCHEMA":
        for obj in objects:
            schema = obj["String"]["sval"]
            refs = [r for r in ctx.schema.tables if r.schema == schema]
            if refs and not cascade:
                raise Unsupported(f"schema {schema} still has tables")
            for ref in refs:
                if ref in ctx.schema.tables:
                    _drop_table(ctx, ref, cascade)
            for tref in [r for r in ctx.schema.types if r.schema == schema]:
                drop_type(ctx, tref, cascade=False)
        if not ctx.ops:
            raise Skip("schema without replicated tables")
        return "drop schema"
    for obj in objects:
        if kind in ("OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE"):
            items = obj.get("List", {}).get("items")
            if items:
                ctx.state.others.discard(name_ref(items))
    raise Skip(f"drop {_what(kind)}: no replicated table column changes")


def _drop_table(ctx: Ctx, ref: TableRef, cascade: bool) -> None:
    """Drop ``ref`` and, first, its partitions (Postgres drops them with it) and, with CASCADE,
    the tables inheriting from it; without CASCADE those make the drop an error."""
    order: list[TableRef] = []
    todo = [ref]
    while todo:
        cur = todo.pop()
        if cur in order:
            continue
        order.append(cur)
        for child in ctx.state.children.get(cur, ()):
            if child not in ctx.schema.tables:
                continue
            if child not in ctx.state.partitions and not cascade:
                raise Unsupported(f"cannot drop {cur}: table {child} inherits from it")
            todo.append(child)
    for table in reversed(order):
        ctx.emit(construct(DropTable, table=table))


def rename(ctx: Ctx, node: JsonNode) -> str:
    """``RenameStmt`` → RenameTable / RenameColumn / type rename; other objects are skipped."""
    kind = node.get("renameType", "")
    new_name: str = node["newname"]
    if kind == "OBJECT_TABLE":
        ref = range_ref(node["relation"])
        if _not_replicated(ctx, ref, node):
            ctx.state.others.discard(ref)
            ctx.state.others.add(table_ref(ref.schema, new_name))
            raise Skip(f"{ref} is not a replicated table")
        ctx.emit(construct(RenameTable, table=ref, new_name=new_name))
        _rename_in_state(ctx, ref, table_ref(ref.schema, new_name))
        return f"rename table {ref}"
    if kind == "OBJECT_COLUMN":
        if node.get("relationType", "OBJECT_TABLE") != "OBJECT_TABLE":
            raise Skip(f"rename column of a {_what(node['relationType'])}")
        ref = range_ref(node["relation"])
        if _not_replicated(ctx, ref, node):
            raise Skip(f"{ref} is not a replicated table")
        old: str = node["subname"]
        targets = [ref]
        if node["relation"].get("inh", False):
            targets += [c for c in ctx.state.children.get(ref, ()) if c in ctx.schema.tables]
        for target in targets:
            if target is not ref and old not in ctx.schema.tables[target].columns:
                continue
            if old not in ctx.schema.tables[target].columns:
                raise Unsupported(f"column {target}.{old} does not exist")
            ctx.emit(construct(RenameColumn, table=target, column=old, new_name=new_name))
        return f"rename column {ref}.{old}"
    if kind in _TYPES:
        old_ref = name_ref(node["object"]["List"]["items"])
        return rename_type(ctx, old_ref, table_ref(old_ref.schema, new_name))
    if kind == "OBJECT_SCHEMA":
        schema = node["subname"]
        if any(r.schema == schema for r in ctx.schema.tables):
            raise Unsupported(f"renaming schema {schema} moves replicated tables")
        raise Skip("rename schema without replicated tables")
    if kind in ("OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE"):
        rel = node.get("relation")
        if rel is not None:
            ref = range_ref(rel)
            ctx.state.others.discard(ref)
            ctx.state.others.add(table_ref(ref.schema, new_name))
    raise Skip(f"rename {_what(kind)}: no replicated table column changes")


def _not_replicated(ctx: Ctx, ref: TableRef, node: JsonNode) -> bool:
    if ref in ctx.schema.tables:
        return False
    if ref in ctx.state.others:
        return True
    if node.get("missing_ok"):
        raise Skip(f"table {ref} does not exist (IF EXISTS)")
    ctx.table(ref)
    return False


def _rename_in_state(ctx: Ctx, old: TableRef, new: TableRef) -> None:
    state = ctx.state
    if old in state.children:
        state.children[new] = state.children.pop(old)
    for kids in state.children.values():
        kids[:] = [new if k == old else k for k in kids]
    if old in state.partitions:
        state.partitions.discard(old)
        state.partitions.add(new)


def set_schema(ctx: Ctx, node: JsonNode) -> str:
    """``AlterObjectSchemaStmt``: moving a replicated table is refused; a type moves."""
    kind = node.get("objectType", "")
    new_schema: str = node["newschema"]
    if kind == "OBJECT_TABLE":
        ref = range_ref(node["relation"])
        if ref in ctx.schema.tables:
            raise Unsupported(
                f"ALTER TABLE {ref} SET SCHEMA {new_schema}: moving a replicated table "
                "between schemas has no generic operation"
            )
        raise Skip(f"{ref} is not a replicated table")
    if kind in _TYPES:
        old_ref = name_ref(node["object"]["List"]["items"])
        return rename_type(ctx, old_ref, table_ref(new_schema, old_ref.name))
    raise Skip(f"set schema of a {_what(kind)}: no replicated table column changes")
