"""Opening a configured target by its ``type``, importing only that dialect."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from gen_migrate.dialects.base import Target
from gen_migrate.errors import InputError

_TARGETS = {
    "clickhouse": "gen_migrate.dialects.clickhouse.target:ClickHouseTarget",
    "iceberg": "gen_migrate.dialects.iceberg.target:IcebergTarget",
    "postgres": "gen_migrate.dialects.postgres.target:PostgresTarget",
}


def make_target(name: str, config: Any, root: Path) -> Target:
    """A (not yet opened) :class:`Target` for ``[targets.<name>]``; an :class:`InputError`
    naming the target when its dialect's libraries cannot be imported."""
    module_name, _, cls_name = _TARGETS[config.type].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except ImportError as exc:
        raise InputError(
            f"target {name}: the {config.type} dialect is not available here: {exc}"
        ) from None
    target: Target = cls(name, config, root)
    return target
