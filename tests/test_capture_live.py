"""Live capture end to end: the real CLI observing the real Postgres while real Alembic, Django
and psql (mimicking Rails) migrate it. After every capture, replaying the generic files must give
exactly what the live catalog has for the captured tables, and nothing of ours may be left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gen_migrate.capture import triggers
from gen_migrate.capture.catalog import introspect_schema
from gen_migrate.capture.frameworks import bookkeeping
from gen_migrate.generic.compare import diff_schemas
from gen_migrate.generic.files import load_dir, validate_dir
from gen_migrate.generic.schema import replay

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BIN = Path(sys.executable).parent
BOOKKEEPING = bookkeeping("auto")


def capture_cmd(dsn: str, out: Path, *command: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The real CLI: ``gen-migrate capture --dsn … --out … -- command``."""
    return [
        sys.executable, "-m", "gen_migrate", "capture", "--dsn", dsn, "--out", str(out),
        *extra, "--", *command,
    ]  # fmt: skip


def run_capture(
    dsn: str, out: Path, cwd: Path, *command: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn}
    return subprocess.run(
        capture_cmd(dsn, out, *command, extra=extra),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_parity(dsn: str, out: Path) -> None:
    """Replaying the generic files equals the live catalog of the captured tables."""
    replayed = replay(mf.migration.operations for mf in load_dir(out))
    with psycopg.connect(dsn) as conn:
        live = introspect_schema(conn, ("public",), lambda ref: ref.name not in BOOKKEEPING)
    assert diff_schemas(replayed, live) == []


def assert_clean(dsn: str) -> None:
    """No schema, event trigger or marker trigger of ours is left."""
    with psycopg.connect(dsn) as conn:
        assert triggers.find_leftover(conn) is None
        marker = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = %s", (triggers.MARKER_TRIGGER,)
        ).fetchone()
        assert marker == (0,)


def summary(out: Path) -> list[tuple[str, str, list[tuple[Any, ...]]]]:
    """(id, phase, [(op, table, detail…)]) per file, in sum-file order."""
    result = []
    for mf in load_dir(out):
        ops = []
        for op in mf.migration.operations:
            if op.op in ("define_type", "drop_type"):
                continue
            data = op.model_dump(mode="json", by_alias=True, exclude_none=True)
            table = data.pop("table")["name"]
            kind = data.pop("op")
            if kind == "create_table":
                detail: tuple[Any, ...] = tuple(c["name"] for c in data["columns"])
            elif kind == "add_column":
                detail = (data["column"]["name"], data["column"]["type"]["kind"])
            elif kind == "alter_column_type":
                detail = (data["column"], data["old_type"]["pg"], data["new_type"]["pg"],
                          data["safety"])  # fmt: skip
            elif kind == "rename_column":
                detail = (data["column"], data["new_name"])
            elif kind == "swap_columns":
                detail = (data["a"], data["b"])
            else:
                detail = (data.get("column"),)
            ops.append((kind, table, *detail))
        result.append((mf.migration.id, mf.migration.phase, ops))
    return result


def test_rails_psql_script_one_file_per_version(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "generic_migrations"
    cwd = FIXTURES / "rails_psql"
    done = run_capture(pg_dsn, out, cwd, "psql", pg_dsn, "-X", "-q", "-f", "migrate.sql")
    assert done.returncode == 0, done.stderr
    assert summary(out) == [
        ("20250101000001_create_issues", "pre",
         [("create_table", "issues", "id", "title", "created_at", "updated_at")]),
        ("20250101000002_add_state_to_issues", "pre",
         [("add_column", "issues", "state", "int16"),
          ("add_column", "issues", "legacy_ref", "int32")]),
        ("20250101000003_change_title_to_text", "pre",
         [("alter_column_type", "issues", "title", "character varying(255)", "text", "widening")]),
        # db/post_migrate makes the whole migration post, additions included.
        ("20250101000004_replace_legacy_ref_with_closed_at", "post",
         [("drop_column", "issues", "legacy_ref"),
          ("add_column", "issues", "closed_at", "timestamp")]),
    ]  # fmt: skip
    first = load_dir(out)[0].migration.source
    assert (first.framework, first.version, first.file) == (
        "rails", "20250101000001", "db/migrate/20250101000001_create_issues.rb",
    )  # fmt: skip
    assert validate_dir(out)[1] == []
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_alembic_project_one_file_per_revision(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "generic_migrations"
    done = run_capture(
        pg_dsn, out, FIXTURES / "alembic_app", str(BIN / "alembic"), "upgrade", "head"
    )
    assert done.returncode == 0, done.stderr
    assert summary(out) == [
        ("1f0a00000001_create_accounts", "pre",
         [("create_table", "accounts", "id", "email", "name", "score", "first_name",
           "last_name")]),
        ("1f0a00000002_add_created_at", "pre",
         [("add_column", "accounts", "created_at", "timestamptz")]),
        ("1f0a00000003_drop_name", "post", [("drop_column", "accounts", "name")]),
        ("1f0a00000004_rename_score", "pre", [("rename_column", "accounts", "score", "points")]),
        ("1f0a00000005_widen_points", "pre",
         [("alter_column_type", "accounts", "points", "integer", "bigint", "widening")]),
        ("1f0a00000006_swap_names", "pre",
         [("swap_columns", "accounts", "first_name", "last_name")]),
    ]  # fmt: skip
    swap = load_dir(out)[-1].migration.source
    assert swap.framework == "alembic" and swap.version == "1f0a00000006"
    # One logged string held the three renames: each statement is in the file exactly once.
    assert len(swap.statements) == 3
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_django_project_one_file_per_column_changing_migration(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "generic_migrations"
    done = run_capture(pg_dsn, out, FIXTURES / "django_app", sys.executable, "manage.py", "migrate")
    assert done.returncode == 0, done.stderr
    assert summary(out) == [
        ("shop.0001_initial", "pre",
         [("create_table", "shop_product", "id", "name", "price", "legacy_code", "qty")]),
        ("shop.0002_rename_name_title", "pre",
         [("rename_column", "shop_product", "name", "title")]),
        ("shop.0003_alter_price", "pre",
         [("alter_column_type", "shop_product", "price", "numeric(10,2)", "numeric(12,2)",
           "widening")]),
        ("shop.0004_remove_legacy_code", "post", [("drop_column", "shop_product", "legacy_code")]),
        # The DO block's dynamic SQL: found through the catalog fallback.
        ("shop.0005_note_via_do_block", "pre", [("add_column", "shop_product", "note", "string")]),
        # 0006 only adds an index: no file.
    ]  # fmt: skip
    do_block = load_dir(out)[-1].migration.source
    assert do_block.file == "shop/migrations/0005_note_via_do_block.py"
    assert do_block.statements[0].startswith("DO $$")
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_failure_in_third_migration_keeps_the_first_two(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "generic_migrations"
    cwd = FIXTURES / "rails_psql"
    done = run_capture(pg_dsn, out, cwd, "psql", pg_dsn, "-X", "-q", "-f", "failing.sql")
    assert done.returncode == 3  # psql's own code for a failed script
    assert [m[0] for m in summary(out)] == [
        "20250101000001_create_issues",
        "20250101000002_add_state_to_issues",
    ]
    ops = [op for _, _, ops in summary(out) for op in ops]
    assert not any("weight" in op for op in ops)
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def _wait_for_third(dsn: str, deadline: float) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"
                " AND datname = current_database()"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.1)
    raise AssertionError("the third migration never started")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_captures_what_committed_and_cleans_up(
    pg_dsn: str, tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "generic_migrations"
    proc = subprocess.Popen(
        capture_cmd(pg_dsn, out, "psql", pg_dsn, "-X", "-q", "-f", "slow.sql"),
        cwd=FIXTURES / "rails_psql",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_third(pg_dsn, time.monotonic() + 60)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, stderr
    assert [m[0] for m in summary(out)] == [
        "20250101000001_create_issues",
        "20250101000002_add_state_to_issues",
    ]
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)
