"""``[targets.<name>] type = "iceberg"`` settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IcebergTargetConfig(BaseModel):
    """An Iceberg target reached through a pyiceberg catalog."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["iceberg"]
    catalog: dict[str, str] = Field(
        default_factory=dict,
        description="pyiceberg catalog properties, passed through (REST, Glue, Hive, SQL). "
        "Default: SQL catalog on SQLite with a warehouse under .gen-migrate/iceberg",
    )
    catalog_name: str = "gen_migrate"
    namespace: str = "default"
    table: str = Field(default="{table}", description="Table name template.")
    type_overrides: dict[str, str] = Field(default_factory=dict)
    drop: Literal["drop", "purge"] = "drop"
    incompatible_type_change: Literal["refuse", "new_column"] = "refuse"
