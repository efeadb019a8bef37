"""Safety class of a type change, decided from the generic types alone.

- ``widening``: every old value fits the new type and keeps its meaning (int32→int64).
- ``lossless``: every old value converts exactly but the representation changes
  (int→string, string(50)→string, enum→string).
- ``narrowing``: some old values may not fit (int64→int32, string→string(20), precision down).
- ``incompatible``: the conversion depends on the values or changes their meaning
  (string→int, float→int, anything the rules below do not know).
"""

from __future__ import annotations

from enum import StrEnum

from gen_migrate.generic.types import FLOAT_KINDS, INTEGER_KINDS, GenericType, TypeKind


class Safety(StrEnum):
    """How safe a type change is for data already stored downstream."""

    WIDENING = "widening"
    LOSSLESS = "lossless"
    NARROWING = "narrowing"
    INCOMPATIBLE = "incompatible"


_INT_RANK = {TypeKind.INT16: 0, TypeKind.INT32: 1, TypeKind.INT64: 2}
_FLOAT_RANK = {TypeKind.FLOAT32: 0, TypeKind.FLOAT64: 1}
_TEXTUAL_FROM = {
    TypeKind.BOOL,
    *INTEGER_KINDS,
    *FLOAT_KINDS,
    TypeKind.DECIMAL,
    TypeKind.UUID,
    TypeKind.DATE,
    TypeKind.TIME,
    TypeKind.TIMETZ,
    TypeKind.TIMESTAMP,
    TypeKind.TIMESTAMPTZ,
    TypeKind.INTERVAL,
    TypeKind.JSON,
    TypeKind.ENUM,
}
_TIME_PREC_DEFAULT = 6


def _prec(ty: GenericType) -> int:
    return _TIME_PREC_DEFAULT if ty.precision is None else ty.precision


def classify(old: GenericType, new: GenericType) -> Safety:
    """Classify the change ``old`` → ``new``."""
    if old.same(new):
        return Safety.LOSSLESS
    ok, nk = old.kind, new.kind
    if ok in _INT_RANK and nk in _INT_RANK:
        return Safety.WIDENING if _INT_RANK[nk] > _INT_RANK[ok] else Safety.NARROWING
    if ok in _FLOAT_RANK and nk in _FLOAT_RANK:
        return Safety.WIDENING if _FLOAT_RANK[nk] > _FLOAT_RANK[ok] else Safety.NARROWING
    if ok in _INT_RANK and nk in _FLOAT_RANK:
        # float32 holds 24 bits of mantissa, float64 53: int16 fits either, int32 only float64.
        exact = (nk is TypeKind.FLOAT64 and ok is not TypeKind.INT64) or ok is TypeKind.INT16
        return Safety.LOSSLESS if exact else Safety.NARROWING
    if ok in _INT_RANK and nk is TypeKind.DECIMAL:
        digits = {TypeKind.INT16: 5, TypeKind.INT32: 10, TypeKind.INT64: 19}[ok]
        if new.precision is None or new.precision - (new.scale or 0) >= digits:
            return Safety.LOSSLESS
        return Safety.NARROWING
    if ok is TypeKind.DECIMAL and nk is TypeKind.DECIMAL:
        return _decimal(old, new)
    if ok in (*_FLOAT_RANK, TypeKind.DECIMAL) and nk in _INT_RANK:
        return Safety.INCOMPATIBLE
    if ok is TypeKind.DECIMAL and nk in _FLOAT_RANK:
        return Safety.NARROWING
    if nk is TypeKind.STRING:
        return _to_string(old, new)
    if ok is TypeKind.STRING and nk is TypeKind.JSON:
        return Safety.INCOMPATIBLE
    if ok is TypeKind.ENUM and nk is TypeKind.ENUM:
        return _enum(old, new)
    if ok is TypeKind.DATE and nk in (TypeKind.TIMESTAMP, TypeKind.TIMESTAMPTZ):
        return Safety.WIDENING
    if {ok, nk} <= {TypeKind.TIMESTAMP, TypeKind.TIMESTAMPTZ} or (
        {ok, nk} <= {TypeKind.TIME, TypeKind.TIMETZ}
    ):
        if ok is not nk:
            # with/without zone: same instants only under one session time zone.
            return Safety.INCOMPATIBLE
        return Safety.WIDENING if _prec(new) > _prec(old) else Safety.NARROWING
    if ok is TypeKind.ARRAY and nk is TypeKind.ARRAY:
        assert old.element is not None and new.element is not None
        return classify(old.element, new.element)
    return Safety.INCOMPATIBLE


def _decimal(old: GenericType, new: GenericType) -> Safety:
    if new.precision is None:
        return Safety.WIDENING
    if old.precision is None:
        return Safety.NARROWING
    old_int = old.precision - (old.scale or 0)
    new_int = new.precision - (new.scale or 0)
    if new_int >= old_int and (new.scale or 0) >= (old.scale or 0):
        return Safety.WIDENING
    return Safety.NARROWING


def _to_string(old: GenericType, new: GenericType) -> Safety:
    if old.kind is TypeKind.STRING:
        if new.max_length is None:
            return Safety.WIDENING
        if old.max_length is not None and new.max_length >= old.max_length:
            return Safety.WIDENING
        return Safety.NARROWING
    if old.kind in _TEXTUAL_FROM:
        return Safety.LOSSLESS if new.max_length is None else Safety.NARROWING
    return Safety.INCOMPATIBLE


def _enum(old: GenericType, new: GenericType) -> Safety:
    assert old.values is not None and new.values is not None
    if set(old.values) <= set(new.values):
        return Safety.WIDENING
    return Safety.INCOMPATIBLE
