"""Postgres types → generic types, from pglast's JSON parse tree.

One mapping path serves both capture routes: the normaliser calls :func:`generic_from_typename`
on a ``TypeName`` node of ``pglast.parser.parse_sql_json`` output, and catalog introspection calls
:func:`parse_type` on ``format_type()`` text, which parses that text the same way.

Decisions:

- ``GenericType.pg`` is what ``format_type()`` prints (``integer``, ``character varying(255)``,
  ``timestamp(3) with time zone``, ``text[]``); serials print as their integer type.
- Arrays are one level deep whatever the declared dimensions: Postgres ignores them
  (``bigint[][]`` is ``bigint[]``), so ``array(int64)`` with ``pg = "bigint[]"``.
- Domains resolve to their base type (``pg`` is the base type's spelling); enums are
  ``enum(name, values)`` where ``name`` and ``pg`` are the type name as ``format_type()`` prints
  it (unqualified in ``public``, ``schema.name`` elsewhere).
- Built-ins without a generic kind of their own (network, geometry, text search, bit strings,
  ranges, ``money``, ``xml``, …) are ``string`` with ``pg`` kept: every one has a text form.
  ``oid``-like types are ``int64`` (unsigned 32-bit). See :data:`TYPE_MAPPING`.
- A name nothing knows is an :class:`UnknownTypeError` that says how to declare it in ``[types]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from gen_migrate.capture.construct import construct
from gen_migrate.errors import InputError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.types import GenericType, TypeKind

JsonNode = dict[str, Any]

_K = TypeKind
TYPE_MAPPING: dict[str, tuple[TypeKind, str]] = {
    # internal name (pg_catalog.typname or an alias the parser leaves unqualified)
    #   → (generic kind, format_type() spelling without modifiers)
    "bool": (_K.BOOL, "boolean"),
    "boolean": (_K.BOOL, "boolean"),
    "int2": (_K.INT16, "smallint"),
    "smallint": (_K.INT16, "smallint"),
    "int4": (_K.INT32, "integer"),
    "int": (_K.INT32, "integer"),
    "integer": (_K.INT32, "integer"),
    "int8": (_K.INT64, "bigint"),
    "bigint": (_K.INT64, "bigint"),
    "smallserial": (_K.INT16, "smallint"),
    "serial2": (_K.INT16, "smallint"),
    "serial": (_K.INT32, "integer"),
    "serial4": (_K.INT32, "integer"),
    "bigserial": (_K.INT64, "bigint"),
    "serial8": (_K.INT64, "bigint"),
    "float4": (_K.FLOAT32, "real"),
    "real": (_K.FLOAT32, "real"),
    "float8": (_K.FLOAT64, "double precision"),
    "numeric": (_K.DECIMAL, "numeric"),
    "decimal": (_K.DECIMAL, "numeric"),
    "varchar": (_K.STRING, "character varying"),
    "bpchar": (_K.STRING, "character"),
    "text": (_K.STRING, "text"),
    "citext": (_K.STRING, "citext"),
    "name": (_K.STRING, "name"),
    "char": (_K.STRING, '"char"'),
    "bytea": (_K.BYTES, "bytea"),
    "uuid": (_K.UUID, "uuid"),
    "date": (_K.DATE, "date"),
    "time": (_K.TIME, "time without time zone"),
    "timetz": (_K.TIMETZ, "time with time zone"),
    "timestamp": (_K.TIMESTAMP, "timestamp without time zone"),
    "timestamptz": (_K.TIMESTAMPTZ, "timestamp with time zone"),
    "interval": (_K.INTERVAL, "interval"),
    "json": (_K.JSON, "json"),
    "jsonb": (_K.JSON, "jsonb"),
    # no generic kind of their own: kept as text, Postgres spelling in ``pg``
    "inet": (_K.STRING, "inet"),
    "cidr": (_K.STRING, "cidr"),
    "macaddr": (_K.STRING, "macaddr"),
    "macaddr8": (_K.STRING, "macaddr8"),
    "tsvector": (_K.STRING, "tsvector"),
    "tsquery": (_K.STRING, "tsquery"),
    "xml": (_K.STRING, "xml"),
    "money": (_K.STRING, "money"),
    "bit": (_K.STRING, "bit"),
    "varbit": (_K.STRING, "bit varying"),
    "jsonpath": (_K.STRING, "jsonpath"),
    "pg_lsn": (_K.STRING, "pg_lsn"),
    "pg_snapshot": (_K.STRING, "pg_snapshot"),
    "txid_snapshot": (_K.STRING, "txid_snapshot"),
    "point": (_K.STRING, "point"),
    "line": (_K.STRING, "line"),
    "lseg": (_K.STRING, "lseg"),
    "box": (_K.STRING, "box"),
    "path": (_K.STRING, "path"),
    "polygon": (_K.STRING, "polygon"),
    "circle": (_K.STRING, "circle"),
    "int4range": (_K.STRING, "int4range"),
    "int8range": (_K.STRING, "int8range"),
    "numrange": (_K.STRING, "numrange"),
    "tsrange": (_K.STRING, "tsrange"),
    "tstzrange": (_K.STRING, "tstzrange"),
    "daterange": (_K.STRING, "daterange"),
    "int4multirange": (_K.STRING, "int4multirange"),
    "int8multirange": (_K.STRING, "int8multirange"),
    "nummultirange": (_K.STRING, "nummultirange"),
    "tsmultirange": (_K.STRING, "tsmultirange"),
    "tstzmultirange": (_K.STRING, "tstzmultirange"),
    "datemultirange": (_K.STRING, "datemultirange"),
    "regclass": (_K.STRING, "regclass"),
    "regtype": (_K.STRING, "regtype"),
    "regproc": (_K.STRING, "regproc"),
    "regprocedure": (_K.STRING, "regprocedure"),
    "regconfig": (_K.STRING, "regconfig"),
    "regnamespace": (_K.STRING, "regnamespace"),
    "regrole": (_K.STRING, "regrole"),
    "oid": (_K.INT64, "oid"),
    "xid": (_K.INT64, "xid"),
    "xid8": (_K.INT64, "xid8"),
    "cid": (_K.INT64, "cid"),
    "tid": (_K.STRING, "tid"),
}

SERIAL_TYPES = frozenset({"smallserial", "serial2", "serial", "serial4", "bigserial", "serial8"})
"""Names that are an integer column with a sequence default and NOT NULL, not a type."""

_STRING_WITH_LENGTH = {"varchar", "bpchar", "bit", "varbit"}
_TIMED = {"time", "timetz", "timestamp", "timestamptz"}
_TIMED_SUFFIX = {
    "time": ("time", " without time zone"),
    "timetz": ("time", " with time zone"),
    "timestamp": ("timestamp", " without time zone"),
    "timestamptz": ("timestamp", " with time zone"),
}
# INTERVAL typmod range bits (utils/datetime.h) → the phrase format_type() prints.
_YEAR, _MONTH, _DAY, _HOUR, _MINUTE, _SECOND = 1 << 2, 1 << 1, 1 << 3, 1 << 10, 1 << 11, 1 << 12
_INTERVAL_FIELDS = {
    _YEAR: " year",
    _MONTH: " month",
    _DAY: " day",
    _HOUR: " hour",
    _MINUTE: " minute",
    _SECOND: " second",
    _YEAR | _MONTH: " year to month",
    _DAY | _HOUR: " day to hour",
    _DAY | _HOUR | _MINUTE: " day to minute",
    _DAY | _HOUR | _MINUTE | _SECOND: " day to second",
    _HOUR | _MINUTE: " hour to minute",
    _HOUR | _MINUTE | _SECOND: " hour to second",
    _MINUTE | _SECOND: " minute to second",
}
_INTERVAL_FULL_RANGE = 0x7FFF
_INTERVAL_FULL_PRECISION = 0xFFFF


class UnknownTypeError(InputError):
    """A type name that is neither built in, a known enum/domain, nor declared in ``[types]``."""


class TypeRegistry:
    """User types known so far (enums and domains by qualified name) plus ``[types]`` overrides.

    ``overrides`` maps a Postgres type name (``citext``, ``public.hstore``) to a generic kind
    name (``string``, ``json``, …); an override wins over every other meaning of that name.
    """

    def __init__(
        self,
        user_types: Mapping[TableRef, GenericType] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.user_types: dict[TableRef, GenericType] = dict(user_types or {})
        self.overrides: dict[str, GenericType] = {}
        for name, kind in (overrides or {}).items():
            try:
                tk = TypeKind(kind)
            except ValueError:
                kinds = ", ".join(k.value for k in TypeKind if k not in (_K.ENUM, _K.ARRAY))
                raise InputError(
                    f"[types] {name} = {kind!r}: not a generic kind (one of {kinds})"
                ) from None
            if tk in (_K.ENUM, _K.ARRAY):
                raise InputError(f"[types] {name} = {kind!r}: enum/array cannot be declared")
            key = name.lower()
            bare = key.removeprefix("public.")
            declared = GenericType(kind=tk, pg=name.removeprefix("public."))
            self.overrides[key] = declared
            self.overrides.setdefault(bare, declared)

    @classmethod
    def from_schema(cls, schema: Any, overrides: Mapping[str, str] | None = None) -> TypeRegistry:
        """A registry over ``schema.types`` (a :class:`gen_migrate.generic.schema.Schema`).

        The registry keeps a reference to that dict, so types the schema learns later are seen.
        """
        reg = cls(None, overrides)
        reg.user_types = schema.types
        return reg

    def lookup_user(self, schema: str | None, name: str) -> GenericType | None:
        """A known enum/domain: qualified exactly, else ``public``, else a unique name match."""
        if schema is not None:
            return self.user_types.get(table_ref(schema, name))
        found = self.user_types.get(table_ref("public", name))
        if found is not None:
            return found
        matches = [ty for ref, ty in self.user_types.items() if ref.name == name]
        return matches[0] if len(matches) == 1 else None


_REFS: dict[tuple[str, str], TableRef] = {}


def table_ref(schema: str, name: str) -> TableRef:
    """A TableRef naming a table or type, validated once per name (they are immutable, so
    shared)."""
    ref = _REFS.get((schema, name))
    if ref is None:
        if len(_REFS) > 100_000:
            _REFS.clear()
        ref = _REFS[(schema, name)] = TableRef(schema=schema, name=name)
    return ref


def type_display_name(ref: TableRef) -> str:
    """How ``format_type()`` names a user type: bare in ``public``, ``schema.name`` elsewhere."""
    name = quote_ident(ref.name)
    return name if ref.schema == "public" else f"{quote_ident(ref.schema)}.{name}"


def enum_type(ref: TableRef, values: tuple[str, ...] | list[str]) -> GenericType:
    """The generic type of the enum ``ref`` with ``values`` in order."""
    shown = type_display_name(ref)
    # valid by construction (an enum with its name and values): built without validation
    return construct(GenericType, kind=_K.ENUM, name=shown, values=tuple(values), pg=shown)


def quote_ident(ident: str) -> str:
    """An identifier quoted the way Postgres prints it (only when it needs quotes)."""
    if ident.isascii():
        plain = _PLAIN_ASCII_IDENT.fullmatch(ident) is not None
    else:
        plain = bool(ident[0].isalpha() or ident[0] == "_") and ident == ident.lower()
        plain = plain and all(c.isalnum() or c in "_$" for c in ident)
    if plain:
        return ident
    return '"' + ident.replace('"', '""') + '"'


_PLAIN_ASCII_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")
"""An ASCII identifier that needs no quotes: what the letter/digit tests of
:func:`quote_ident` accept for ASCII text."""


def typename_parts(node: JsonNode) -> list[str]:
    """The dotted name of a JSON ``TypeName`` (``["pg_catalog", "int4"]``)."""
    return [n["String"]["sval"] for n in node.get("names", ())]


def _typmod_key(node: JsonNode) -> tuple[int, ...] | None:
    """The integer modifiers of a ``TypeName``; ``None`` when one is not an integer constant."""
    out = []
    for mod in node.get("typmods", ()):
        const = mod.get("A_Const")
        if const is None or "ival" not in const:
            return None
        out.append(int(const["ival"].get("ival", 0)))
    return tuple(out)


def _typmod_ints(node: JsonNode, spelled: str) -> list[int]:
    key = _typmod_key(node)
    if key is None:
        raise UnknownTypeError(f"type {spelled}: modifiers must be integer constants")
    return list(key)


def _array_of(element: GenericType) -> GenericType:
    key = (element.key(), element.pg)
    cached = _ARRAY_CACHE.get(key)
    if cached is None:
        if len(_ARRAY_CACHE) > 10_000:
            _ARRAY_CACHE.clear()
        cached = _ARRAY_CACHE[key] = GenericType(
            kind=_K.ARRAY, element=element, pg=f"{element.pg}[]"
        )
    return cached


_BUILTIN_CACHE: dict[str, GenericType] = {}
_PLAIN_EXCLUDES = frozenset({"typmods", "arrayBounds", "pct_type", "setof"})
_MODIFIED_EXCLUDES = _PLAIN_EXCLUDES - {"typmods"}
_MODIFIED_CACHE: dict[tuple[str, tuple[int, ...]], GenericType] = {}
_ARRAY_CACHE: dict[tuple[Any, ...], GenericType] = {}


def _builtin(name: str, mods: list[int], spelled: str) -> GenericType:
    if not mods:
        cached = _BUILTIN_CACHE.get(name)
        if cached is None:
            kind, base = TYPE_MAPPING[name]
            pg = "bpchar" if name == "bpchar" else base
            cached = _BUILTIN_CACHE[name] = GenericType(kind=kind, pg=pg)
        return cached
    key = (name, tuple(mods))
    cached = _MODIFIED_CACHE.get(key)
    if cached is None:
        if len(_MODIFIED_CACHE) > 10_000:
            _MODIFIED_CACHE.clear()
        cached = _MODIFIED_CACHE[key] = _modified(name, mods, spelled)
    return cached


def _modified(name: str, mods: list[int], spelled: str) -> GenericType:
    kind, base = TYPE_MAPPING[name]
    if name in _STRING_WITH_LENGTH:
        if len(mods) != 1 or mods[0] < 1:
            raise UnknownTypeError(f"type {spelled}: expects one positive length")
        length = mods[0]
        if name in ("bit", "varbit"):
            return GenericType(kind=kind, pg=f"{base}({length})")
        return GenericType(kind=kind, max_length=length, pg=f"{base}({length})")
    if name in ("numeric", "decimal"):
        if len(mods) > 2 or mods[0] < 1:
            raise UnknownTypeError(f"type {spelled}: NUMERIC precision must be at least 1")
        scale = mods[1] if len(mods) == 2 else 0
        return GenericType(
            kind=kind, precision=mods[0], scale=scale, pg=f"numeric({mods[0]},{scale})"
        )
    if name in _TIMED:
        if len(mods) != 1 or mods[0] < 0:
            raise UnknownTypeError(f"type {spelled}: expects one precision")
        prec = min(mods[0], 6)
        head, tail = _TIMED_SUFFIX[name]
        return GenericType(kind=kind, precision=prec, pg=f"{head}({prec}){tail}")
    if name == "interval":
        fields = mods[0] if mods else _INTERVAL_FULL_RANGE
        phrase = "" if fields == _INTERVAL_FULL_RANGE else _INTERVAL_FIELDS.get(fields, "")
        prec = mods[1] if len(mods) > 1 else _INTERVAL_FULL_PRECISION
        suffix = "" if prec == _INTERVAL_FULL_PRECISION else f"({min(prec, 6)})"
        return GenericType(kind=kind, pg=f"interval{phrase}{suffix}")
    raise UnknownTypeError(f"type {spelled}: takes no modifiers")


def generic_from_typename(node: JsonNode, registry: TypeRegistry) -> GenericType:
    """The generic type of a JSON ``TypeName`` node (from ``parse_sql_json``).

    Raises :class:`UnknownTypeError` for a name nothing knows, ``%TYPE`` and ``SETOF``.
    """
    size = len(node)
    if size <= 4 and not registry.overrides:
        # the common cases: a built-in type seen before, without array bounds
        names = node.get("names", ())
        if len(names) == 1 or (len(names) == 2 and names[0]["String"]["sval"] == "pg_catalog"):
            name = names[-1]["String"]["sval"]
            if size <= 3:
                found = _BUILTIN_CACHE.get(name)
                if found is not None and _PLAIN_EXCLUDES.isdisjoint(node):
                    return found
            elif "typmods" in node and _MODIFIED_EXCLUDES.isdisjoint(node):
                mods = _typmod_key(node)
                found = None if mods is None else _MODIFIED_CACHE.get((name, mods))
                if found is not None:
                    return found
    parts = typename_parts(node)
    spelled = ".".join(parts) or "?"
    if node.get("pct_type") or node.get("setof"):
        raise UnknownTypeError(f"type {spelled}: %TYPE/SETOF cannot be a column type")
    base = _base_type(parts, node, registry, spelled)
    if node.get("arrayBounds"):
        if base.kind is _K.ARRAY:
            return base
        return _array_of(base)
    return base


def _base_type(
    parts: list[str], node: JsonNode, registry: TypeRegistry, spelled: str
) -> GenericType:
    name = parts[-1]
    schema = parts[-2] if len(parts) > 1 else None
    lowered = spelled.lower()
    if registry.overrides:
        found = registry.overrides.get(lowered) or (
            registry.overrides.get(name.lower()) if schema in (None, "public") else None
        )
        if found is not None:
            return found
    if schema in (None, "pg_catalog") and name in TYPE_MAPPING:
        return _builtin(name, _typmod_ints(node, spelled) if "typmods" in node else [], spelled)
    user = registry.lookup_user(schema, name)
    if user is not None:
        return user
    if schema == "public" and name in TYPE_MAPPING:
        return _builtin(name, _typmod_ints(node, spelled) if "typmods" in node else [], spelled)
    raise UnknownTypeError(
        f'unknown type {spelled}: declare it in the config, e.g. [types] "{spelled}" = "string"'
    )


@lru_cache(maxsize=4096)
def _typename_of_text(text: str) -> str:
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(f"SELECT NULL::{text}"))
        node = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"][0]["ResTarget"]["val"]
        return json.dumps(node["TypeCast"]["typeName"])
    except (ParseError, KeyError, IndexError) as exc:
        raise UnknownTypeError(f"cannot read type {text!r}: {exc}") from None


def parse_type(text: str, registry: TypeRegistry) -> GenericType:
    """The generic type of a type spelled as text, e.g. ``format_type()`` output such as
    ``character varying(255)[]`` or ``timestamp(3) with time zone``."""
    node: JsonNode = json.loads(_typename_of_text(text.strip()))
    return generic_from_typename(node, registry)


def is_serial(node: JsonNode) -> bool:
    """True when a ``TypeName`` is ``serial``/``bigserial``/``smallserial`` (unqualified)."""
    names = node.get("names", ())
    return (
        len(names) == 1
        and not node.get("arrayBounds")
        and names[0]["String"]["sval"] in SERIAL_TYPES
    )
