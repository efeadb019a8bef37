"""``[targets.<name>] type = "postgres"``: the source database itself, for SQL-first teams."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class PostgresTargetConfig(BaseModel):
    """Apply the captured statements of each generic file to a Postgres database."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["postgres"]
    dsn: str | None = None
