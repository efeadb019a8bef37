"""The live Postgres schema, read from the catalog, as a generic :class:`Schema`.

Two queries whatever the number of tables: one for every user type (enums with their values in
order, domains with their base type), one for every column of every table with its default,
identity, generated expression and primary-key position.

What counts as a table: ordinary and partitioned tables (``relkind`` ``r``/``p``), partitions
included: logical replication publishes a change under the leaf partition's name unless the
publication sets ``publish_via_partition_root``, and the normaliser models a partition as a table
whose column changes follow its parent's. A pipeline that publishes through the root excludes the
partitions with ``[tables] exclude``. Views, materialized views and foreign tables are not tables.

Types go through :func:`gen_migrate.capture.pgtypes.parse_type` on ``format_type()`` text, the
same path the normaliser uses, except user types: enums and domains (and arrays of them) are
resolved by oid, so the result does not depend on the session's ``search_path`` (which decides
whether ``format_type`` qualifies a name). A domain is its base type; an enum is
``enum(name, values)`` named as :func:`~gen_migrate.capture.pgtypes.type_display_name` names it.
Nullability is the column's own ``NOT NULL`` (a domain's ``NOT NULL`` is not the column's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from gen_migrate.capture.pgtypes import TypeRegistry, enum_type, parse_type
from gen_migrate.errors import InputError
from gen_migrate.generic.operations import Column, TableRef
from gen_migrate.generic.schema import Schema, TableSchema
from gen_migrate.generic.types import GenericType, TypeKind

_TYPES_SQL = """
SELECT t.oid, n.nspname, t.typname, t.typtype,
       t.typbasetype, format_type(t.typbasetype, t.typtypmod),
       bt.typtype, bt.typelem, et.typtype,
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE t.typtype IN ('e', 'd') AND n.nspname NOT IN ('pg_catalog', 'pg_toast')
ORDER BY t.oid
"""

_COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname,
       a.atttypid, format_type(a.atttypid, a.atttypmod), t.typtype, t.typelem, et.typtype,
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       (SELECT k.ord FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)
ORDER BY n.nspname, c.relname, a.attnum
"""

_USER_KINDS = ("e", "d")


@dataclass(frozen=True)
class _UserType:
    ref: TableRef
    typtype: str
    base_oid: int
    base_text: str | None
    base_typtype: str | None
    base_elem: int
    base_elem_typtype: str | None
    values: tuple[str, ...]


class _Resolver:
    """Generic types of user types by oid (domains resolved through their bases)."""

    def __init__(self, rows: Sequence[Sequence[Any]], overrides: Mapping[str, str] | None) -> None:
        self.by_oid: dict[int, _UserType] = {}
        for oid, nsp, name, typtype, base, base_text, btt, belem, bett, values in rows:
            self.by_oid[int(oid)] = _UserType(
                TableRef(schema=nsp, name=name),
                typtype,
                int(base or 0),
                base_text,
                btt,
                int(belem or 0),
                bett,
                tuple(values or ()),
            )
        # User types are resolved by oid, never by name: the registry only carries overrides.
        self.registry = TypeRegistry(None, overrides)
        self.cache: dict[int, GenericType] = {}
        self.spelled: dict[str, GenericType] = {}
        """``format_type`` spelling → generic type (types are frozen, so shared)."""

    def user(self, oid: int, depth: int = 0) -> GenericType:
        """The generic type of the enum or domain ``oid``."""
        if oid in self.cache:
            return self.cache[oid]
        ut = self.by_oid[oid]
        if depth > 32:
            raise InputError(f"domain {ut.ref}: base types nest too deep")
        if ut.typtype == "e":
            ty = enum_type(ut.ref, ut.values)
        else:
            try:
                ty = self.typed(
                    ut.base_oid,
                    ut.base_text or "",
                    ut.base_typtype,
                    ut.base_elem,
                    ut.base_elem_typtype,
                    depth + 1,
                )
            except InputError as exc:
                raise InputError(f"domain {ut.ref}: {exc.message}") from None
        self.cache[oid] = ty
        return ty

    def typed(
        self,
        oid: int,
        text: str,
        typtype: str | None,
        elem: int,
        elem_typtype: str | None,
        depth: int = 0,
    ) -> GenericType:
        """The generic type of type ``oid`` (``text`` is its ``format_type`` spelling)."""
        if typtype in _USER_KINDS and oid in self.by_oid:
            return self.user(oid, depth)
        if elem_typtype in _USER_KINDS and elem in self.by_oid:
            element = self.user(elem, depth)
            if element.kind is TypeKind.ARRAY:
                return element
            return GenericType(kind=TypeKind.ARRAY, element=element, pg=f"{element.pg}[]")
        found = self.spelled.get(text)
        if found is None:
            found = self.spelled[text] = parse_type(text, self.registry)
        return found


def _resolver(conn: psycopg.Connection[Any], overrides: Mapping[str, str] | None) -> _Resolver:
    rows = conn.execute(_TYPES_SQL).fetchall()
    return _Resolver(rows, overrides)


def introspect_types(
    conn: psycopg.Connection[Any],
    schemas: Sequence[str] = ("public",),
    *,
    overrides: Mapping[str, str] | None = None,
) -> dict[TableRef, GenericType]:
    """Enums and domains of ``schemas`` as ``Schema.types`` holds them (one query)."""
    res = _resolver(conn, overrides)
    return {
        ut.ref: res.user(oid)
        for oid, ut in sorted(res.by_oid.items(), key=lambda kv: (kv[1].ref.schema, kv[1].ref.name))
        if ut.ref.schema in schemas
    }


def introspect_schema(
    conn: psycopg.Connection[Any],
    schemas: Sequence[str] = ("public",),
    tables: Callable[[TableRef], bool] | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
) -> Schema:
    """The tables of ``schemas`` (only those ``tables`` accepts, when given) with columns in
    ``attnum`` order, and the user types of ``schemas``; two queries in all.

    ``overrides`` are the config's ``[types]`` (extension types such as ``ltree``). A column
    whose type maps to nothing is an :class:`InputError` naming it; a user type no column uses
    and that maps to nothing is left out of ``Schema.types``. The connection is only read.
    """
    res = _resolver(conn, overrides)
    schema = Schema()
    for oid, ut in sorted(res.by_oid.items(), key=lambda kv: (kv[1].ref.schema, kv[1].ref.name)):
        if ut.ref.schema not in schemas:
            continue
        try:
            schema.types[ut.ref] = res.user(oid)
        except InputError:
            continue  # a domain over a type nothing maps: only an error if a column uses it
    pk: dict[TableRef, list[tuple[int, str]]] = {}
    for row in conn.execute(_COLUMNS_SQL, (list(schemas),)).fetchall():
        (
            nsp,
            rel,
            col,
            typoid,
            text,
            typtype,
            elem,
            elem_typtype,
            notnull,
            default,
            identity,
            generated,
            pk_pos,
        ) = row
        ref = TableRef(schema=nsp, name=rel)
        if tables is not None and not tables(ref):
            continue
        ts = schema.tables.get(ref)
        if ts is None:
            ts = schema.tables[ref] = TableSchema(ref)
        if col is None:
            continue
        try:
            ty = res.typed(int(typoid), text, typtype, int(elem or 0), elem_typtype)
        except InputError as exc:
            raise InputError(f"column {ref}.{col}: {exc.message}") from None
        is_generated = generated == "s"
        ts.columns[col] = Column(
            name=col,
            type=ty,
            nullable=not notnull,
            default=None if is_generated else default,
            identity={"a": "always", "d": "by_default"}.get(identity or ""),  # type: ignore[arg-type]
            generated=default if is_generated else None,
        )
        if pk_pos is not None:
            pk.setdefault(ref, []).append((int(pk_pos), col))
    for ref, cols in pk.items():
        schema.tables[ref].primary_key = [name for _, name in sorted(cols)]
    return schema
