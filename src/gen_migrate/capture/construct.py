"""Building generic models from values the normaliser has already checked, without validation.

``BaseModel.model_construct`` walks every field on each call, and validating a model that holds
a :class:`~gen_migrate.generic.types.GenericType` re-runs that type's own validator; the
translators build a few thousand columns and operations per migration history, all from values
that are valid by construction (names from the parse tree, types from ``pgtypes``). This does
what ``model_construct`` does, with the field defaults worked out once per model class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Any]]]] = {}

# The slots every pydantic model instance has, set directly (the models are frozen).
_SET_DICT: Callable[[Any, Any], None] = vars(BaseModel)["__dict__"].__set__
_SET_FIELDS_SET: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_fields_set__"].__set__
_SET_EXTRA: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_extra__"].__set__
_SET_PRIVATE: Callable[[Any, Any], None] = vars(BaseModel)["__pydantic_private__"].__set__
_new = object.__new__


def _template(cls: type[BaseModel]) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    template: dict[str, Any] = {}
    factories: list[tuple[str, Any]] = []
    for name, info in cls.model_fields.items():
        template[name] = None if info.is_required() else info.default
        if info.default_factory is not None:
            factories.append((name, info.default_factory))
    found = _TEMPLATES[cls] = (template, factories)
    return found


def construct(cls: type[M], **fields: Any) -> M:
    """An instance of ``cls`` holding ``fields`` (every required field must be given) and the
    defaults of the rest, in the model's field order; equal to ``cls(**fields)``."""
    template, factories = _TEMPLATES.get(cls) or _template(cls)
    values = {**template, **fields}
    for name, factory in factories:
        if name not in fields:
            values[name] = factory()
    model = _new(cls)
    _SET_DICT(model, values)
    _SET_FIELDS_SET(model, set(fields))
    _SET_EXTRA(model, None)
    _SET_PRIVATE(model, None)
    return model


def replace(model: M, **update: Any) -> M:
    """A copy of ``model`` with ``update`` applied, without validation; equal to
    ``model.model_copy(update=update)``."""
    values = model.__dict__.copy()
    values.update(update)
    copy = _new(type(model))
    _SET_DICT(copy, values)
    _SET_FIELDS_SET(copy, model.__pydantic_fields_set__ | update.keys())
    _SET_EXTRA(copy, None)
    _SET_PRIVATE(copy, None)
    return copy
