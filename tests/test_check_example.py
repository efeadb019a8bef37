"""The example project end to end, as the CI templates run it: the example app's SQL
migrations in Postgres, the committed generic files, the ClickHouse layout (siphon tables and
materialized views) and an Iceberg catalog deployed by ``apply``; then ``check`` must agree
everywhere, and a migration run without capture must be named."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg

from gen_migrate.check.report import to_junit
from gen_migrate.check.runner import run_check
from gen_migrate.config import load_config
from gen_migrate.deploy.runner import DeployOptions, apply

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "fixtures" / "example_app"


def test_example_project_agrees_then_uncaptured_migration_is_named(
    tmp_path: Path, pg_dsn: str
) -> None:
    root = tmp_path / "example"
    root.mkdir()
    shutil.copytree(REPO / "generic_migrations", root / "generic_migrations")
    shutil.copy(REPO / "gen-migrate.toml", root / "gen-migrate.toml")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for path in sorted((EXAMPLE / "migrations").glob("*.sql")):
            conn.execute(path.read_text())
    subprocess.run(
        [sys.executable, str(EXAMPLE / "load_clickhouse_layout.py")],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = load_config(cwd=root)
    for phase in ("pre", "post"):
        apply(config, DeployOptions(phase=phase))
    config.source.dsn = pg_dsn

    report = run_check(config)
    assert report.failures == []
    assert report.exit_code == 0
    tables = sorted({c.name for c in report.cases if c.kind == "capture"})
    assert len(tables) >= 4 and "public.issues" in tables
    suites = ET.fromstring(to_junit(report))
    for store in ("postgres", "clickhouse", "lake"):
        [suite] = [s for s in suites.iter("testsuite") if s.get("name") == store]
        names = [c.get("name") for c in suite.iter("testcase")]
        assert [n for n in names if n != "applied checksums"] == tables

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE notes ADD COLUMN by_hand integer")
    report = run_check(config)
    assert report.exit_code == 1
    failing = {f"{c.store} {c.name}": c.problems for c in report.failures}
    assert failing == {
        "postgres public.notes": [
            "column notes.by_hand exists in Postgres but in no generic migration: run capture"
        ],
        "clickhouse public.notes": [
            "column notes.by_hand is missing in clickhouse (expected Nullable(Int32))"
        ],
        "lake public.notes": ["column notes.by_hand is missing in lake (expected int)"],
    }
