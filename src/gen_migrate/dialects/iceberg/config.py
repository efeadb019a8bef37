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
    table: str = Field(
        default="{table}", description="Table name template: {table} and {schema} of the source."
    )
    type_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Generic kind -> Iceberg type, over dialects/iceberg.toml "
        "(e.g. interval = 'string', decimal_unconstrained = 'decimal(38, 10)').",
    )
    drop: Literal["drop", "purge"] = Field(
        default="drop", description="drop_table keeps data files; purge removes them."
    )
    incompatible_type_change: Literal["refuse", "new_column"] = Field(
        default="refuse",
        description="A type change Iceberg cannot promote: refuse, or replace the column by a "
        "new field of the new type (values written before read NULL).",
    )
    set_not_null: Literal["refuse", "ignore"] = Field(
        default="refuse",
        description="SET NOT NULL on an optional column: refuse (Iceberg cannot make it "
        "required), or ignore (the column stays optional).",
    )
