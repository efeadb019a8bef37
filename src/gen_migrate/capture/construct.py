"""Building generic models from values the normaliser has already checked, without validation.

``BaseModel.model_construct`` walks every field on each call, and validating a model that holds
a :class:`~gen_migrate.generic.types.GenericType` re-runs that type's own validator; the
translators build a few thousand columns and operations per migration history, all from values
that are valid by construction (names from the parse tree, types from ``pgtypes``). This does
what ``model_construct`` does, with the field defaults worked out once per model class.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Any]]]] = {}


def construct(cls: type[M], **fields: Any) -> M:
    """An instance of ``cls`` holding ``fields`` (every required field must be given) and the
    defaults of the rest, in the model's field order; equal to ``cls(**fields)``."""
    found = _TEMPLATES.get(cls)
    if found is None:
        template: dict[str, Any] = {}
        factories: list[tuple[str, Any]] = []
        for name, info in cls.model_fields.items():
            template[name] = None if info.is_required() else info.default
            if info.default_factory is not None:
                factories.append((name, info.default_factory))
        found = _TEMPLATES[cls] = (template, factories)
    template, factories = found
    values = dict(template)
    for name, factory in factories:
        if name not in fields:
            values[name] = factory()
    values.update(fields)
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model
