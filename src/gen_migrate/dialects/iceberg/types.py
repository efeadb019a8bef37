"""Generic types → Iceberg (format v2) types, from ``dialects/iceberg.toml`` plus user overrides.

Types are handled as pyiceberg's own spelling (``long``, ``decimal(12, 2)``, ``list<string>``)
everywhere in planning, so plans and parity checks need no pyiceberg import; :func:`parse_type`
turns a spelling into a pyiceberg type only when a step runs.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from gen_migrate.errors import ConfigError
from gen_migrate.generic.types import GenericType, TypeKind

DATA_FILE = "data/iceberg.toml"

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_LIST = re.compile(r"^list<(.+)>$")
_FIXED = re.compile(r"^fixed\[(\d+)\]$")
_PRIMITIVES = frozenset(
    {
        "boolean",
        "int",
        "long",
        "float",
        "double",
        "string",
        "binary",
        "uuid",
        "date",
        "time",
        "timestamp",
        "timestamptz",
    }
)
_MAP_KEYS = frozenset(
    {k.value for k in TypeKind} | {"decimal_unconstrained", "decimal_wide"},
)


@cache
def _data() -> dict[str, Any]:
    text = resources.files("gen_migrate").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def default_type_map() -> dict[str, str]:
    """``[types]`` of the shipped ``iceberg.toml``: generic kind key → Iceberg type template."""
    return dict(_data()["types"])


def max_decimal_precision() -> int:
    """The widest decimal Iceberg holds (38)."""
    return int(_data()["limits"]["max_decimal_precision"])


def type_map(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The shipped map with ``overrides`` applied; an unknown key is a :class:`ConfigError`."""
    mapping = default_type_map()
    for key, value in (overrides or {}).items():
        if key not in _MAP_KEYS:
            known = ", ".join(sorted(_MAP_KEYS))
            raise ConfigError(f"iceberg type_overrides: unknown key {key!r} (known: {known})")
        mapping[key] = value
    return mapping


def normalize(spelling: str) -> str:
    """The canonical spelling of an Iceberg type (``decimal(12,2)`` → ``decimal(12, 2)``);
    raises ``ValueError`` for a spelling that is not an Iceberg v2 type."""
    s = spelling.strip()
    if s in _PRIMITIVES:
        return s
    if m := _DECIMAL.match(s):
        precision, scale = int(m.group(1)), int(m.group(2))
        if not 1 <= precision <= max_decimal_precision() or scale > precision:
            raise ValueError(f"decimal({precision}, {scale}) is outside Iceberg's decimal range")
        return f"decimal({precision}, {scale})"
    if m := _FIXED.match(s):
        return f"fixed[{int(m.group(1))}]"
    if m := _LIST.match(s):
        return f"list<{normalize(m.group(1))}>"
    raise ValueError(f"{spelling!r} is not an Iceberg v2 type")


def iceberg_type(ty: GenericType, mapping: dict[str, str]) -> str:
    """The Iceberg spelling of a generic type under ``mapping`` (see :func:`type_map`).

    Raises :class:`ConfigError` when the map yields something that is not an Iceberg v2 type.
    """
    key = ty.kind.value
    fields: dict[str, Any] = {}
    if ty.kind is TypeKind.DECIMAL:
        if ty.precision is None:
            key = "decimal_unconstrained"
        elif ty.precision > max_decimal_precision():
            key = "decimal_wide"
        fields = {"precision": ty.precision, "scale": ty.scale or 0}
    elif ty.kind is TypeKind.ARRAY:
        assert ty.element is not None
        fields = {"element": iceberg_type(ty.element, mapping)}
    template = mapping[key]
    try:
        return normalize(template.format(**fields))
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(
            f"iceberg type map: {key} = {template!r} does not give an Iceberg type "
            f"for {ty.describe()}: {exc}"
        ) from None


def promotion_refusal(old: str, new: str) -> str | None:
    """``None`` when Iceberg can promote ``old`` to ``new`` in place (int→long, float→double,
    decimal precision widening with the same scale); otherwise the reason it cannot."""
    if old == new:
        return None
    if (old, new) in {("int", "long"), ("float", "double")}:
        return None
    mo, mn = _DECIMAL.match(old), _DECIMAL.match(new)
    if mo and mn:
        (po, so), (pn, sn) = (int(mo[1]), int(mo[2])), (int(mn[1]), int(mn[2]))
        if so != sn:
            return f"Iceberg cannot change a decimal's scale ({old} -> {new})"
        if pn < po:
            return f"Iceberg cannot narrow a decimal ({old} -> {new})"
        return None
    return (
        f"Iceberg cannot change column type {old} -> {new} "
        "(legal promotions: int->long, float->double, decimal precision widening)"
    )


def parse_type(spelling: str, next_id: Callable[[], int] | None = None) -> Any:
    """The pyiceberg type object for a spelling (imports pyiceberg). ``next_id`` numbers the
    element fields of lists (pyiceberg renumbers them when a column is added)."""
    from pyiceberg import types as it

    s = normalize(spelling)
    if m := _LIST.match(s):
        element_id = next_id() if next_id is not None else 1
        return it.ListType(
            element_id=element_id,
            element=parse_type(m.group(1), next_id),
            element_required=False,
        )
    simple: dict[str, Any] = {
        "boolean": it.BooleanType,
        "int": it.IntegerType,
        "long": it.LongType,
        "float": it.FloatType,
        "double": it.DoubleType,
        "string": it.StringType,
        "binary": it.BinaryType,
        "uuid": it.UUIDType,
        "date": it.DateType,
        "time": it.TimeType,
        "timestamp": it.TimestampType,
        "timestamptz": it.TimestamptzType,
    }
    if s in simple:
        return simple[s]()
    if m := _DECIMAL.match(s):
        return it.DecimalType(int(m.group(1)), int(m.group(2)))
    m = _FIXED.match(s)
    assert m is not None
    return it.FixedType(int(m.group(1)))


def can_identify(spelling: str) -> bool:
    """Whether a column of this type may be an identifier field (primitive, not float/double)."""
    return spelling not in ("float", "double") and not spelling.startswith("list<")
