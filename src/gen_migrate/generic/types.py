"""Generic column types: the platform-independent vocabulary every dialect maps from.

A :class:`GenericType` is one model for every kind; fields that do not apply to a kind stay
``None`` and are left out of the JSON. ``pg`` keeps the original Postgres spelling (as
``format_type()`` prints it) for traceability; it never takes part in comparisons.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TypeKind(StrEnum):
    """Every generic type kind of format 1."""

    BOOL = "bool"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    DECIMAL = "decimal"
    STRING = "string"
    BYTES = "bytes"
    UUID = "uuid"
    DATE = "date"
    TIME = "time"
    TIMETZ = "timetz"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    INTERVAL = "interval"
    JSON = "json"
    ENUM = "enum"
    ARRAY = "array"


INTEGER_KINDS = (TypeKind.INT16, TypeKind.INT32, TypeKind.INT64)
FLOAT_KINDS = (TypeKind.FLOAT32, TypeKind.FLOAT64)


class GenericType(BaseModel):
    """A column type in generic terms.

    ``precision``/``scale`` belong to ``decimal`` (``None`` precision = unconstrained numeric);
    ``precision`` alone to ``time``/``timestamp``/``timestamptz`` (fractional-second digits,
    ``None`` = default 6); ``max_length`` to ``string``; ``name`` and ``values`` to ``enum``;
    ``element`` to ``array``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: TypeKind
    precision: int | None = Field(default=None, ge=0)
    scale: int | None = None
    max_length: int | None = Field(default=None, ge=1)
    name: str | None = None
    values: tuple[str, ...] | None = None
    element: GenericType | None = None
    pg: str | None = Field(default=None, description="Original Postgres spelling (format_type).")

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> GenericType:
        k = self.kind
        if self.element is not None and k is not TypeKind.ARRAY:
            raise ValueError(f"'element' only applies to kind 'array', not {k.value!r}")
        if k is TypeKind.ARRAY and self.element is None:
            raise ValueError("kind 'array' needs 'element'")
        if self.values is not None and k is not TypeKind.ENUM:
            raise ValueError(f"'values' only applies to kind 'enum', not {k.value!r}")
        if k is TypeKind.ENUM and self.values is None:
            raise ValueError("kind 'enum' needs 'values'")
        if self.max_length is not None and k is not TypeKind.STRING:
            raise ValueError(f"'max_length' only applies to kind 'string', not {k.value!r}")
        if self.scale is not None and k is not TypeKind.DECIMAL:
            raise ValueError(f"'scale' only applies to kind 'decimal', not {k.value!r}")
        timed = (TypeKind.TIME, TypeKind.TIMETZ, TypeKind.TIMESTAMP, TypeKind.TIMESTAMPTZ)
        if self.precision is not None and k is not TypeKind.DECIMAL and k not in timed:
            raise ValueError(f"'precision' does not apply to kind {k.value!r}")
        return self

    def key(self) -> tuple[Any, ...]:
        """Identity of the type without its Postgres spelling, for comparisons and hashes."""
        # read from the field dict: pydantic's attribute hook and the enum's ``value`` property
        # are Python code, and enum retyping and ``classify`` ask for keys of many columns
        fields = self.__dict__
        element = fields["element"]
        return (
            fields["kind"]._value_,
            fields["precision"],
            fields["scale"],
            fields["max_length"],
            fields["name"],
            fields["values"],
            element.key() if element is not None else None,
        )

    def same(self, other: GenericType) -> bool:
        """True when both describe the same generic type (Postgres spelling ignored)."""
        return self.key() == other.key()

    def without_pg(self) -> GenericType:
        """This type with ``pg`` dropped at every level."""
        element = self.element.without_pg() if self.element is not None else None
        return self.model_copy(update={"pg": None, "element": element})

    def describe(self) -> str:
        """A short human spelling such as ``decimal(12,2)`` or ``array(string)``."""
        k = self.kind
        if k is TypeKind.ARRAY:
            assert self.element is not None
            return f"array({self.element.describe()})"
        if k is TypeKind.DECIMAL and self.precision is not None:
            return f"decimal({self.precision},{self.scale or 0})"
        if k is TypeKind.STRING and self.max_length is not None:
            return f"string({self.max_length})"
        if k is TypeKind.ENUM:
            return f"enum({self.name or ''})"
        if self.precision is not None:
            return f"{k.value}({self.precision})"
        return k.value


def t(kind: str | TypeKind, **fields: Any) -> GenericType:
    """Shorthand constructor: ``t("decimal", precision=12, scale=2)``."""
    return GenericType(kind=TypeKind(kind), **fields)
