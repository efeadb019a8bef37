"""Project configuration: ``gen-migrate.toml`` or ``[tool.gen-migrate]`` in ``pyproject.toml``.

Loaded by pydantic; unknown keys are an error naming the key. ``GEN_MIGRATE_SOURCE_DSN``
overrides ``[source] dsn``.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gen_migrate.dialects.clickhouse.config import ClickHouseTargetConfig
from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.dialects.postgres.config import PostgresTargetConfig
from gen_migrate.errors import ConfigError
from gen_migrate.generic.operations import TableRef

CONFIG_FILE = "gen-migrate.toml"
DSN_ENV = "GEN_MIGRATE_SOURCE_DSN"

TargetConfig = Annotated[
    ClickHouseTargetConfig | IcebergTargetConfig | PostgresTargetConfig,
    Field(discriminator="type"),
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Section):
    """The Postgres source database."""

    dsn: str | None = None
    schemas: list[str] = Field(default_factory=lambda: ["public"])


class MigrationsConfig(_Section):
    """Where the generic files live."""

    dir: str = "generic_migrations"


class TablesConfig(_Section):
    """Which source tables are replicated: glob patterns on ``name`` or ``schema.name``."""

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)

    def managed(self, ref: TableRef) -> bool:
        """True when the table is replicated downstream."""

        def hit(patterns: list[str]) -> bool:
            return any(
                fnmatch.fnmatchcase(ref.name, p) or fnmatch.fnmatchcase(ref.qualified(), p)
                for p in patterns
            )

        return hit(self.include) and not hit(self.exclude)


class Config(_Section):
    """The whole configuration."""

    source: SourceConfig = Field(default_factory=SourceConfig)
    migrations: MigrationsConfig = Field(default_factory=MigrationsConfig)
    tables: TablesConfig = Field(default_factory=TablesConfig)
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Postgres type name → generic kind, for extension or unknown types "
        "(e.g. citext = 'string').",
    )
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    root: Path = Field(default=Path("."), exclude=True)

    @property
    def migrations_dir(self) -> Path:
        """The generic migrations directory, resolved against the config's folder."""
        return self.root / self.migrations.dir

    @property
    def state_dir(self) -> Path:
        """Where embedded stores and locks live (``.gen-migrate/``)."""
        return self.root / ".gen-migrate"


def _find(start: Path) -> tuple[Path, dict[str, Any]] | None:
    for folder in (start, *start.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own, _read_toml(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject).get("tool", {}).get("gen-migrate")
            if data is not None:
                return pyproject, data
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load the configuration from ``path``, or find it from ``cwd`` upwards; defaults if none."""
    if path is not None:
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("gen-migrate", {})
        found: tuple[Path, dict[str, Any]] | None = (path, data)
    else:
        found = _find((cwd or Path.cwd()).resolve())
    source_path, data = found if found else (None, {})
    root = source_path.parent if source_path else (cwd or Path.cwd())
    try:
        config = Config.model_validate({**data, "root": root})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"{source_path}: {where}: {err['msg']}",
            detail="\n".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
        ) from None
    env_dsn = os.environ.get(DSN_ENV)
    if env_dsn:
        config.source.dsn = env_dsn
    return config
