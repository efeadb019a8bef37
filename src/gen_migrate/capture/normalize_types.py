"""Enums and domains: CREATE TYPE … AS ENUM, ALTER TYPE … ADD/RENAME VALUE, CREATE DOMAIN, and the
column retyping a changed or renamed enum implies."""

from __future__ import annotations

from gen_migrate.capture.construct import construct
from gen_migrate.capture.context import Ctx, JsonNode, Skip, Unsupported, name_ref
from gen_migrate.capture.pgtypes import enum_type
from gen_migrate.generic.operations import (
    AlterColumnType,
    DefineType,
    DropColumn,
    DropType,
    TableRef,
)
from gen_migrate.generic.safety import classify
from gen_migrate.generic.types import GenericType, TypeKind


def create_enum(ctx: Ctx, node: JsonNode) -> str:
    """``CreateEnumStmt`` → DefineType(enum)."""
    ref = name_ref(node["typeName"])
    if ref in ctx.schema.types:
        raise Unsupported(f"type {ref} already exists")
    values = [v["String"]["sval"] for v in node.get("vals", ())]
    ctx.emit(construct(DefineType, name=ref, type=enum_type(ref, values)))
    return f"enum {ref}"


def create_domain(ctx: Ctx, node: JsonNode) -> str:
    """``CreateDomainStmt`` → DefineType(base type)."""
    ref = name_ref(node["domainname"])
    if ref in ctx.schema.types:
        raise Unsupported(f"type {ref} already exists")
    ctx.emit(construct(DefineType, name=ref, type=ctx.type_of(node["typeName"])))
    return f"domain {ref}"


def alter_enum(ctx: Ctx, node: JsonNode) -> str:
    """``AlterEnumStmt`` → DefineType plus AlterColumnType for every column of the enum."""
    ref = name_ref(node["typeName"])
    old = ctx.schema.types.get(ref)
    if old is None or old.kind is not TypeKind.ENUM or old.values is None:
        raise Unsupported(f"enum {ref} is not known")
    values = list(old.values)
    new_val: str = node.get("newVal", "")
    if node.get("oldVal") is not None:
        if node["oldVal"] not in values:
            raise Unsupported(f"enum {ref} has no value {node['oldVal']!r}")
        values[values.index(node["oldVal"])] = new_val
        what = f"rename value {node['oldVal']!r} to {new_val!r}"
    else:
        if new_val in values:
            if node.get("skipIfNewValExists"):
                raise Skip(f"enum {ref} has value {new_val!r} (IF NOT EXISTS)")
            raise Unsupported(f"enum {ref} already has value {new_val!r}")
        neighbor = node.get("newValNeighbor")
        if neighbor is None:
            values.append(new_val)
        else:
            if neighbor not in values:
                raise Unsupported(f"enum {ref} has no value {neighbor!r}")
            at = values.index(neighbor) + (1 if node.get("newValIsAfter") else 0)
            values.insert(at, new_val)
        what = f"add value {new_val!r}"
    replace_type(ctx, ref, old, enum_type(ref, values))
    return f"enum {ref}: {what}"


def replace_type(ctx: Ctx, ref: TableRef, old: GenericType, new: GenericType) -> None:
    """Emit the new definition of ``ref``, then retype what had ``old``."""
    ctx.emit(construct(DefineType, name=ref, type=new))
    _retype_all(ctx, ref, old, new)


def _retype_all(ctx: Ctx, ref: TableRef, old: GenericType, new: GenericType) -> None:
    """Domains over ``old`` and every column of ``old`` (or an array of it) get ``new``."""
    old_key = old.key()
    old_kind = old.kind
    old_name = old.name
    for tref, ty in list(ctx.schema.types.items()):
        if ty.kind is old_kind and ty.name == old_name and ty.key() == old_key and tref != ref:
            ctx.emit(construct(DefineType, name=tref, type=new))
    tables = (
        ctx.state.tables_with_enums(ctx.schema)
        if old_kind is TypeKind.ENUM
        else list(ctx.schema.tables.items())
    )
    array = TypeKind.ARRAY
    # only columns of the old type's name (or arrays of it) can change: the name is compared
    # here, the whole key by _swap_key
    candidates = [
        (tref, col)
        for tref, ts in tables
        for col in ts.columns.values()
        if ((kind := (ty := col.type).kind) is old_kind and ty.name == old_name)
        or (
            kind is array
            and (element := ty.element) is not None
            and element.kind is old_kind
            and element.name == old_name
        )
    ]
    for tref, col in candidates:
        retyped = _swap_key(col.type, old_kind, old_key, new)
        if retyped is not None:
            ctx.emit(
                construct(
                    AlterColumnType,
                    table=tref,
                    column=col.name,
                    old_type=col.type,
                    new_type=retyped,
                    safety=classify(col.type, retyped),
                )
            )


def _swap_type(ty: GenericType, old: GenericType, new: GenericType) -> GenericType | None:
    return _swap_key(ty, old.kind, old.key(), new)


def _swap_key(
    ty: GenericType, old_kind: TypeKind, old_key: tuple[object, ...], new: GenericType
) -> GenericType | None:
    """``new`` for a type equal to the old one (by ``old_kind`` and ``old_key``), an array of
    ``new`` for an array of it, else ``None``."""
    kind = ty.kind
    # the name (fifth in the key) first: most enum columns are of another enum
    if kind is old_kind and ty.name == old_key[4] and ty.key() == old_key:
        return new
    if kind is not TypeKind.ARRAY:
        return None
    element = ty.element
    if element is None or element.kind is not old_kind or element.name != old_key[4]:
        return None
    if element.key() == old_key:
        return GenericType(kind=TypeKind.ARRAY, element=new, pg=f"{new.pg}[]")
    return None


def rename_type(ctx: Ctx, old_ref: TableRef, new_ref: TableRef) -> str:
    """A type renamed or moved to another schema: DropType + DefineType, columns retyped."""
    old = ctx.schema.types.get(old_ref)
    if old is None:
        raise Skip(f"type {old_ref} is not an enum or domain known here")
    if new_ref in ctx.schema.types:
        raise Unsupported(f"type {new_ref} already exists")
    ctx.emit(construct(DropType, name=old_ref))
    if old.kind is TypeKind.ENUM and old.values is not None:
        replace_type(ctx, new_ref, old, enum_type(new_ref, old.values))
    else:
        ctx.emit(construct(DefineType, name=new_ref, type=old))
    return f"type {old_ref} renamed to {new_ref}"


def drop_type(ctx: Ctx, ref: TableRef, cascade: bool) -> bool:
    """DropType of a known enum/domain; False if unknown.

    Columns of an enum go too with CASCADE and make the drop an error without it. Columns of a
    domain carry its base type, so the model cannot see that they depend on it.
    """
    old = ctx.schema.types.get(ref)
    if old is None:
        return False
    if old.kind is not TypeKind.ENUM:
        ctx.emit(construct(DropType, name=ref))
        return True
    for tref, ts in ctx.state.tables_with_enums(ctx.schema):
        for col in list(ts.columns.values()):
            if _swap_type(col.type, old, old) is not None:
                if not cascade:
                    raise Unsupported(f"cannot drop type {ref}: column {tref}.{col.name} uses it")
                ctx.emit(construct(DropColumn, table=tref, column=col.name, type=col.type))
    ctx.emit(construct(DropType, name=ref))
    return True
