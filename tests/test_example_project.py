"""The example project cannot drift from the tool: re-capturing it gives the committed files,
and the generic files describe exactly what the real Postgres does with its SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from gen_migrate.capture.catalog import introspect_schema
from gen_migrate.generic.compare import diff_schemas
from gen_migrate.generic.files import SUM_FILE, load_dir
from gen_migrate.generic.schema import replay

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "fixtures" / "example_app" / "migrations"
COMMITTED = REPO / "generic_migrations"


def test_recapture_is_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "recaptured"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gen_migrate",
            "capture",
            "--sql",
            str(EXAMPLE.relative_to(REPO)),
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    committed = sorted(p.name for p in COMMITTED.iterdir())
    assert sorted(p.name for p in out.iterdir()) == committed
    assert SUM_FILE in committed and len(committed) == len(list(EXAMPLE.glob("*.sql"))) + 1
    for name in committed:
        assert (out / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_every_operation_kind_is_exercised() -> None:
    kinds = {op.op for mf in load_dir(COMMITTED) for op in mf.migration.operations}
    assert kinds >= {
        "create_table",
        "drop_table",
        "rename_table",
        "add_column",
        "drop_column",
        "rename_column",
        "swap_columns",
        "alter_column_type",
        "set_nullable",
        "set_default",
    }
    phases = {mf.migration.id: mf.migration.phase for mf in load_dir(COMMITTED)}
    assert phases["20250108000000_drop_legacy_columns"] == "post"
    assert list(phases.values()).count("post") == 1


def test_generic_files_equal_postgres_after_the_sql_runs(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for path in sorted(EXAMPLE.glob("*.sql")):
            conn.execute(path.read_text())  # type: ignore[call-overload]
        live = introspect_schema(conn)
    expected = replay(mf.migration.operations for mf in load_dir(COMMITTED))
    assert diff_schemas(expected, live) == []
    assert set(live.tables) == set(expected.tables)
