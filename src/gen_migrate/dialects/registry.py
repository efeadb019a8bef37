"""Opening a configured target by its ``type``, importing only that dialect."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from gen_migrate.dialects.base import Target

_TARGETS = {
    "clickhouse": "gen_migrate.dialects.clickhouse.target:ClickHouseTarget",
    "iceberg": "gen_migrate.dialects.iceberg.target:IcebergTarget",
    "postgres": "gen_migrate.dialects.postgres.target:PostgresTarget",
}


def make_target(name: str, config: Any, root: Path) -> Target:
    """A (not yet opened) :class:`Target` for ``[targets.<name>]``."""
    module_name, _, cls_name = _TARGETS[config.type].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    target: Target = cls(name, config, root)
    return target
