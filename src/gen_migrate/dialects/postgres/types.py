"""Generic type → the spelling Postgres's ``format_type()`` prints for it."""

from __future__ import annotations

from gen_migrate.generic.types import GenericType, TypeKind

TYPE_MAPPING: dict[TypeKind, str] = {
    TypeKind.BOOL: "boolean",
    TypeKind.INT16: "smallint",
    TypeKind.INT32: "integer",
    TypeKind.INT64: "bigint",
    TypeKind.FLOAT32: "real",
    TypeKind.FLOAT64: "double precision",
    TypeKind.DECIMAL: "numeric",
    TypeKind.STRING: "text",
    TypeKind.BYTES: "bytea",
    TypeKind.UUID: "uuid",
    TypeKind.DATE: "date",
    TypeKind.TIME: "time without time zone",
    TypeKind.TIMETZ: "time with time zone",
    TypeKind.TIMESTAMP: "timestamp without time zone",
    TypeKind.TIMESTAMPTZ: "timestamp with time zone",
    TypeKind.INTERVAL: "interval",
    TypeKind.JSON: "jsonb",
}

_TIMED = {
    TypeKind.TIME: ("time", "without time zone"),
    TypeKind.TIMETZ: ("time", "with time zone"),
    TypeKind.TIMESTAMP: ("timestamp", "without time zone"),
    TypeKind.TIMESTAMPTZ: ("timestamp", "with time zone"),
}


def pg_type(gt: GenericType) -> str:
    """The ``format_type()`` spelling of a generic type; the captured spelling wins when kept."""
    if gt.pg:
        return gt.pg
    kind = gt.kind
    if kind is TypeKind.ARRAY:
        assert gt.element is not None
        return pg_type(gt.element) + "[]"
    if kind is TypeKind.ENUM:
        return gt.name or "text"
    if kind is TypeKind.DECIMAL and gt.precision is not None:
        return f"numeric({gt.precision},{gt.scale or 0})"
    if kind is TypeKind.STRING and gt.max_length is not None:
        return f"character varying({gt.max_length})"
    if kind in _TIMED and gt.precision is not None and gt.precision != 6:
        base, zone = _TIMED[kind]
        return f"{base}({gt.precision}) {zone}"
    return TYPE_MAPPING[kind]
