"""Generic types → ClickHouse types, by the presets in ``data/clickhouse.toml`` plus overrides."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from gen_migrate.errors import ConfigError
from gen_migrate.generic.types import GenericType, TypeKind

DATA_FILE = "data/clickhouse.toml"


@cache
def presets() -> dict[str, dict[str, str]]:
    """Every preset of the shipped type-map file: preset name → key → ClickHouse type."""
    text = resources.files("gen_migrate").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: {k: str(v) for k, v in table.items()} for name, table in data.items()}


@dataclass(frozen=True)
class NativeColumn:
    """A ClickHouse column type, with the DEFAULT expression the preset attaches (if any)."""

    type: str
    default: str | None = None


@dataclass
class TypeMapper:
    """Maps generic types with one preset and the target's overrides."""

    preset: str = "default"
    overrides: dict[str, str] = field(default_factory=dict)
    nullable_policy: str = "as_source"

    def __post_init__(self) -> None:
        if self.preset not in presets():
            raise ConfigError(f"unknown ClickHouse type_map preset {self.preset!r}")
        self._map = presets()[self.preset]

    def base(self, ty: GenericType) -> str:
        """The ClickHouse type of ``ty`` without Nullable."""
        for key in (ty.describe(), ty.kind.value):
            if key in self.overrides:
                return self.overrides[key]
        k = ty.kind
        if k is TypeKind.ARRAY:
            assert ty.element is not None
            return self._map["array"].format(element=self.base(ty.element))
        if k is TypeKind.DECIMAL:
            if ty.precision is None:
                return self._map["decimal_unconstrained"]
            return self._map["decimal"].format(precision=ty.precision, scale=ty.scale or 0)
        template = self._map.get(k.value)
        if template is None:
            raise ConfigError(f"type_map {self.preset!r} has no entry for {k.value!r}")
        precision = 6 if ty.precision is None else ty.precision
        return template.format(precision=precision)

    def column(self, ty: GenericType, nullable: bool) -> NativeColumn:
        """The column type (Nullable per the policy; arrays are never Nullable) and default."""
        base = self.base(ty)
        default = self._map.get(f"{ty.kind.value}_default")
        if nullable and self.nullable_policy == "as_source" and ty.kind is not TypeKind.ARRAY:
            return NativeColumn(make_nullable(base), default)
        return NativeColumn(base, default)


_LC = "LowCardinality("
_NULLABLE = "Nullable("


def is_nullable(native: str) -> bool:
    """True for ``Nullable(T)`` and ``LowCardinality(Nullable(T))``."""
    return native.startswith(_NULLABLE) or native.startswith(_LC + _NULLABLE)


def make_nullable(native: str) -> str:
    """``T`` → ``Nullable(T)`` (inside LowCardinality, where ClickHouse requires it)."""
    if is_nullable(native) or native.startswith(("Array(", "Map(", "Tuple(")):
        return native
    if native.startswith(_LC):
        return f"{_LC}{_NULLABLE}{native[len(_LC) : -1]}))"
    return f"{_NULLABLE}{native})"


def strip_nullable(native: str) -> str:
    """``Nullable(T)`` → ``T`` (also inside LowCardinality)."""
    if native.startswith(_NULLABLE):
        return native[len(_NULLABLE) : -1]
    if native.startswith(_LC + _NULLABLE):
        return f"{_LC}{native[len(_LC + _NULLABLE) : -2]})"
    return native
