"""``[targets.<name>] type = "clickhouse"`` settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from gen_migrate.generic.operations import TableRef


class ClickHouseTargetConfig(BaseModel):
    """A ClickHouse target: chdb in process (``chdb:///path``) or a server (``http(s)://…``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["clickhouse"]
    url: str | None = Field(
        default=None,
        description="chdb:///path or http(s)://user:pass@host:port; default: chdb under "
        ".gen-migrate/clickhouse",
    )
    database: str = "default"
    table: str = Field(default="siphon_{table}", description="Table name template.")
    type_map: Literal["default", "siphon"] = "default"
    type_overrides: dict[str, str] = Field(
        default_factory=dict, description="Generic type spelling → ClickHouse type."
    )
    nullable: Literal["as_source", "never"] = Field(
        default="as_source",
        description="as_source: Nullable(T) where Postgres allows NULL; never: plain T.",
    )
    pipeline_columns: dict[str, str] = Field(
        default_factory=lambda: {
            "_siphon_replicated_at": "DateTime64(6, 'UTC') DEFAULT now64(6, 'UTC')",
            "_siphon_deleted": "Bool DEFAULT false",
        },
        description="Columns that exist only downstream: name → ClickHouse type and default.",
    )
    engine: str = Field(
        default="ReplacingMergeTree(_siphon_replicated_at, _siphon_deleted)",
        description="Engine of tables created by create_table.",
    )
    order_by: str = Field(
        default="{primary_key}", description="ORDER BY template; {primary_key} = PK columns."
    )
    cluster: str | None = None
    mv_strategy: Literal["auto", "exchange", "modify_query"] = "auto"
    """How a view's query is replaced: ``exchange`` through a temp view that feeds the target
    while the view is dropped and created again (the proposal's ``EXCHANGE TABLES`` itself loses
    rows of concurrent inserts, see docs/engine-notes.md), ``modify_query`` in place; ``auto``
    takes ``modify_query`` for targets that would double-count the temp view's rows
    (Summing, Aggregating, Collapsing) and for views without a TO table."""
    allow_lossy_type_changes: bool = False

    def table_name(self, ref: TableRef) -> str:
        """The ClickHouse table of a source table, by the ``table`` template."""
        return self.table.format(table=ref.name, schema=ref.schema)
