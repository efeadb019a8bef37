"""Helpers shared by the ClickHouse dialect tests: layouts, targets, catalog snapshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gen_migrate.dialects.clickhouse.config import ClickHouseTargetConfig
from gen_migrate.dialects.clickhouse.target import ClickHouseTarget
from gen_migrate.generic.migration import Migration

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "clickhouse"
GOLDEN = Path(__file__).resolve().parent / "golden" / "clickhouse"


def split_sql(text: str) -> list[str]:
    """Statements of a layout file (``;`` at line end), comments dropped."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


def reset_database(client: Any, db: str) -> None:
    """Drop and recreate ``db`` as an Atomic database."""
    client.command(f"DROP DATABASE IF EXISTS `{db}` SYNC")
    client.command(f"CREATE DATABASE `{db}` ENGINE = Atomic")


def load_layout(client: Any, db: str, name: str = "shop.sql") -> None:
    """A fresh database with a fixture layout loaded."""
    reset_database(client, db)
    for stmt in split_sql((FIXTURES / name).read_text()):
        client.command(stmt.replace("{db}", db))


def target(client: Any, db: str, root: Path, **settings: Any) -> ClickHouseTarget:
    """A ClickHouseTarget on ``db`` sharing ``client``."""
    config = ClickHouseTargetConfig(type="clickhouse", database=db, **settings)
    return ClickHouseTarget("ch", config, root, client=client)


def migration(name: str) -> Migration:
    """A fixture migration by file stem."""
    return Migration.model_validate_json((FIXTURES / "migrations" / f"{name}.json").read_text())


def snapshot(client: Any, db: str) -> dict[str, Any]:
    """Columns of every table and the query of every view (state table left out)."""
    cols: dict[str, list[str]] = {}
    for table, name, ctype in client.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
        "AND table != 'gen_migrate_migrations' ORDER BY table, position",
        parameters={"db": db},
    ).result_rows:
        cols.setdefault(table, []).append(f"{name} {ctype}")
    views = dict(
        client.query(
            "SELECT name, as_select FROM system.tables WHERE database = {db:String} "
            "AND engine = 'MaterializedView' ORDER BY name",
            parameters={"db": db},
        ).result_rows
    )
    return {"columns": cols, "views": views}
