"""Choosing the targets of a run from the config and ``--target`` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from gen_migrate.config import Config, TargetConfig
from gen_migrate.errors import InputError

SQL_FIRST = "postgres"
"""``--target postgres`` without a ``[targets.postgres]`` table: the source database itself."""


def resolve_targets(config: Config, names: Sequence[str]) -> list[tuple[str, Any]]:
    """(name, target config) in config order, or in ``names`` order when given.

    A postgres target without a ``dsn`` gets ``[source] dsn``. Unknown names are an
    :class:`InputError` naming them.
    """
    chosen: list[tuple[str, Any]] = []
    wanted = list(dict.fromkeys(names)) or list(config.targets)
    if not wanted:
        raise InputError(
            f"no targets configured in {config.root}: add a [targets.<name>] table, "
            "or pass --target postgres to apply to the source database"
        )
    for name in wanted:
        tc: Any = config.targets.get(name)
        if tc is None and name == SQL_FIRST:
            tc = TypeAdapter(TargetConfig).validate_python({"type": "postgres"})
        if tc is None:
            known = ", ".join(config.targets) or "none"
            raise InputError(f"target {name}: not configured (configured targets: {known})")
        if tc.type == "postgres" and not tc.dsn:
            if not config.source.dsn:
                raise InputError(
                    f"target {name}: postgres target needs a dsn or a [source] dsn "
                    "(or GEN_MIGRATE_SOURCE_DSN)"
                )
            tc = tc.model_copy(update={"dsn": config.source.dsn})
        chosen.append((name, tc))
    return chosen
