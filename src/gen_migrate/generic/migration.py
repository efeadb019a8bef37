"""The generic migration file (format 1) and its canonical JSON form."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gen_migrate.generic.operations import Operation

FORMAT_VERSION = 1
"""The newest file format this version reads and writes."""

Phase = Literal["pre", "post"]


class Source(BaseModel):
    """Where a migration came from: the app's framework, version and the executed statements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str = Field(description="rails, alembic, django, sql, golang-migrate, flyway, …")
    version: str
    name: str | None = None
    file: str | None = Field(default=None, description="App migration file, relative path.")
    statements: list[str] = Field(default_factory=list)


class Migration(BaseModel):
    """One generic migration: one app migration's schema changes in platform-independent form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    phase: Phase = "pre"
    source: Source
    operations: list[Operation] = Field(default_factory=list)

    def to_json(self) -> str:
        """Canonical text: stable key order, 2-space indent, trailing newline."""
        return dump_json(self.model_dump(mode="json", by_alias=True, exclude_none=True))

    def checksum(self) -> str:
        """sha256 (hex) of the canonical text: what apply records and compares."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def dump_json(data: Any) -> str:
    """Deterministic JSON text: sorted keys, 2-space indent, UTF-8, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
