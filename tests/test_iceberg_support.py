"""Shared helpers of the Iceberg tests: real catalogs (SQLite file, or SQL catalog in Postgres).

No tests here; the other ``test_iceberg_*`` modules import these helpers and fixtures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.dialects.iceberg.target import IcebergTarget
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.schema import Schema

CATALOGS = ["sqlite", "postgres"]


def postgres_url(dsn: str) -> str:
    """SQLAlchemy URL (psycopg 3 driver) for a libpq DSN."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{info['dbname']}"


def catalog_config(kind: str, tmp: Path, dsn: str | None, **settings: Any) -> IcebergTargetConfig:
    """A target config: the embedded SQLite default, or a SQL catalog stored in Postgres."""
    catalog: dict[str, str] = {}
    if kind == "postgres":
        assert dsn is not None
        (tmp / "warehouse").mkdir(exist_ok=True)
        catalog = {
            "type": "sql",
            "uri": postgres_url(dsn),
            "warehouse": (tmp / "warehouse").as_uri(),
        }
    return IcebergTargetConfig(type="iceberg", catalog=catalog, **settings)


@pytest.fixture(params=CATALOGS)
def catalog_kind(request: pytest.FixtureRequest) -> str:
    """Each Iceberg test runs on the SQLite catalog and on the Postgres-backed one."""
    return str(request.param)


@pytest.fixture
def catalog_dsn(catalog_kind: str, request: pytest.FixtureRequest) -> str | None:
    """A throwaway Postgres database for the Postgres-backed catalog (None for SQLite)."""
    if catalog_kind == "postgres":
        return str(request.getfixturevalue("pg_dsn"))
    return None


@pytest.fixture
def make_target(catalog_kind: str, catalog_dsn: str | None, tmp_path: Path) -> Iterator[Any]:
    """``make_target(**settings)`` → an open :class:`IcebergTarget`; all closed at the end."""
    opened: list[IcebergTarget] = []

    def make(**settings: Any) -> IcebergTarget:
        config = catalog_config(catalog_kind, tmp_path, catalog_dsn, **settings)
        target = IcebergTarget("ice", config, tmp_path)
        target.open()
        opened.append(target)
        return target

    yield make
    for target in opened:
        target.close()


def migration(mid: str, operations: list[dict[str, Any]], phase: str = "pre") -> Migration:
    """A generic migration built from operation dicts."""
    return Migration.model_validate(
        {
            "id": mid,
            "phase": phase,
            "source": {"framework": "sql", "version": mid},
            "operations": operations,
        }
    )


def apply(target: IcebergTarget, migrations: list[Migration], schema: Schema) -> list[str]:
    """Plan and execute migrations in order, replaying ``schema``; returns step events."""
    events: list[str] = []
    for m in migrations:
        plan = target.plan(m, m.checksum(), schema)
        target.execute(
            plan, lambda step, ev: events.append(f"{step.migration_id}.{step.index}:{ev}")
        )
        schema.apply_all(m.operations)
    return events


def load_migrations(path: Path) -> list[Migration]:
    """Migrations stored as one JSON list of ``{"id", "operations"}`` objects."""
    return [migration(d["id"], d["operations"]) for d in json.loads(path.read_text())]
