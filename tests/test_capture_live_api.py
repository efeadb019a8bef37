"""Live capture through the Python API (``observe``) and its clear errors, on the real Postgres."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from conftest import dsn_for, pg_admin_dsn
from gen_migrate.capture import triggers
from gen_migrate.capture.live import observe
from gen_migrate.config import Config, TablesConfig
from gen_migrate.errors import InputError, RefusedError
from gen_migrate.generic.files import load_dir
from test_capture_live import BIN, FIXTURES, assert_clean, assert_parity, capture_cmd, summary


def _run(dsn: str, out: Path, *command: str, extra: tuple[str, ...] = (), cwd: Path | None = None,
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        capture_cmd(dsn, out, *command, extra=extra),
        cwd=cwd or out.parent,
        env={"PATH": str(BIN) + ":/usr/bin:/bin", "DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_api_captures_only_what_committed_and_ran(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    messages: list[str] = []
    with (
        observe(
            pg_dsn, out=out, framework="none", name="shop_changes", echo=messages.append
        ) as cap,
        psycopg.connect(pg_dsn, autocommit=True) as conn,
    ):
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, label text, old_code int)")
        # Rolled back: its log rows go with it.
        with pytest.raises(psycopg.errors.UndefinedColumn), conn.transaction():
            conn.execute("ALTER TABLE items ADD COLUMN ghost int")
            conn.execute("ALTER TABLE items DROP COLUMN no_such_column")
        # One string, two DDL statements; the second fails after the first committed: only
        # the first ran for good.
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(
                "BEGIN; ALTER TABLE items ADD COLUMN qty integer; COMMIT; "
                "ALTER TABLE items ADD COLUMN broken no_such_type"
            )
        conn.execute("ALTER TABLE items DROP COLUMN old_code")
    assert [p.name for p in cap.files] == ["shop_changes.json", "shop_changes.post.json"]
    assert summary(out) == [
        ("shop_changes", "pre",
         [("create_table", "items", "id", "label", "old_code"),
          ("add_column", "items", "qty", "int32")]),
        ("shop_changes.post", "post", [("drop_column", "items", "old_code")]),
    ]  # fmt: skip
    assert load_dir(out)[0].migration.source.framework == "sql"
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_do_block_rename_becomes_drop_and_add_with_a_warning(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        with observe(pg_dsn, out=out, framework="none", name="base", echo=lambda m: None):
            conn.execute("CREATE TABLE notes (id int, body text)")
        with observe(pg_dsn, out=out, framework="none", name="renamed", echo=lambda m: None) as cap:
            conn.execute("DO $$ BEGIN ALTER TABLE notes RENAME COLUMN body TO content; END $$")
    # Additions go pre, the drop post (the phase split of a drop + add).
    assert summary(out)[-2:] == [
        ("renamed", "pre", [("add_column", "notes", "content", "string")]),
        ("renamed.post", "post", [("drop_column", "notes", "body")]),
    ]
    assert len(cap.warnings) == 1
    assert "RENAME COLUMN body TO content" in cap.warnings[0]
    assert_parity(pg_dsn, out)


def test_exception_in_block_still_writes_and_cleans_up(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    with (
        pytest.raises(RuntimeError, match="boom"),
        observe(pg_dsn, out=out, framework="none", name="partial", echo=lambda m: None),
    ):
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
        raise RuntimeError("boom")
    assert summary(out) == [("partial", "pre", [("create_table", "kept", "id")])]
    assert_clean(pg_dsn)


def test_excluded_and_bookkeeping_tables_are_left_out(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    config = Config(tables=TablesConfig(exclude=["audit_*"]))
    with (
        observe(pg_dsn, out=out, framework="none", name="mixed", config=config, echo=print),
        psycopg.connect(pg_dsn, autocommit=True) as conn,
    ):
        conn.execute("CREATE TABLE audit_log (id int)")
        conn.execute("ALTER TABLE audit_log ADD COLUMN at timestamptz")
        conn.execute("CREATE TABLE orders (id int)")
        conn.execute("CREATE INDEX ON audit_log (at)")
    assert summary(out) == [("mixed", "pre", [("create_table", "orders", "id")])]


def test_incremental_capture_uses_existing_files_and_existing_version_table(
    pg_dsn: str, tmp_path: Path
) -> None:
    out = tmp_path / "gm"
    app = FIXTURES / "alembic_app"
    first = _run(pg_dsn, out, str(BIN / "alembic"), "upgrade", "1f0a00000002", cwd=app)
    assert first.returncode == 0, first.stderr
    # alembic_version exists now: the marker trigger goes on at start; later revisions normalise
    # against the replay of the files already written.
    second = _run(pg_dsn, out, str(BIN / "alembic"), "upgrade", "head", cwd=app)
    assert second.returncode == 0, second.stderr
    assert [m[0] for m in summary(out)] == [
        "1f0a00000001_create_accounts",
        "1f0a00000002_add_created_at",
        "1f0a00000003_drop_name",
        "1f0a00000004_rename_score",
        "1f0a00000005_widen_points",
        "1f0a00000006_swap_names",
    ]
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


@pytest.fixture
def plain_role(pg_dsn: str) -> Iterator[str]:
    """A DSN for a login role that is not a superuser."""
    role = f"gm_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    info = psycopg.conninfo.conninfo_to_dict(dsn_for(str(dbname)))
    info["user"] = role
    try:
        yield psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
    finally:
        with psycopg.connect(pg_admin_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_not_a_superuser_is_told_how_to_grant(plain_role: str, tmp_path: Path) -> None:
    done = _run(plain_role, tmp_path / "gm", "true")
    assert done.returncode == 2
    assert "not a superuser" in done.stderr and "SUPERUSER" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(RefusedError, match="event triggers"), observe(plain_role, out=tmp_path):
        pass


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    dsn = "postgresql://postgres@127.0.0.1:1/nowhere"
    done = _run(dsn, tmp_path / "gm", "true")
    assert done.returncode == 2
    assert "cannot connect to Postgres (postgres@127.0.0.1:1/nowhere)" in done.stderr
    assert "Traceback" not in done.stderr


def test_command_not_found_installs_nothing(pg_dsn: str, tmp_path: Path) -> None:
    done = _run(pg_dsn, tmp_path / "gm", "no-such-migrate-tool", "up")
    assert done.returncode == 2
    assert "command not found: no-such-migrate-tool" in done.stderr
    assert not (tmp_path / "gm").exists()
    assert_clean(pg_dsn)


def test_leftover_of_a_crashed_run_is_removed_with_a_message(pg_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as crashed:
        triggers.install(crashed, [("public", "schema_migrations")])
    # Its session is gone: a leftover, removed at start.
    done = _run(pg_dsn, tmp_path / "gm", "psql", pg_dsn, "-Xqc", "CREATE TABLE t (a int)",
                extra=("--framework", "none", "--name", "after_crash"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "removed a leftover of an interrupted capture run" in done.stdout + done.stderr
    assert summary(tmp_path / "gm") == [("after_crash", "pre", [("create_table", "t", "a")])]
    assert_clean(pg_dsn)


def test_a_running_capture_is_not_disturbed(pg_dsn: str, tmp_path: Path) -> None:
    with (
        observe(pg_dsn, out=tmp_path / "a", framework="none", echo=lambda m: None),
        pytest.raises(RefusedError, match="another live capture is running"),
        observe(pg_dsn, out=tmp_path / "b", framework="none"),
    ):
        pass
    assert_clean(pg_dsn)


def test_bad_choices_are_input_errors(pg_dsn: str, tmp_path: Path) -> None:
    with (
        pytest.raises(InputError, match="--framework 'liquibase'"),
        observe(pg_dsn, out=tmp_path, framework="liquibase"),
    ):
        pass
    with (
        pytest.raises(InputError, match="--phase 'later'"),
        observe(pg_dsn, out=tmp_path, phase="later"),
    ):
        pass


def test_python_api_types_renames_and_drops(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    with (
        observe(pg_dsn, out=out, framework="none", name="typed", phase="pre", echo=print),
        psycopg.connect(pg_dsn, autocommit=True) as conn,
    ):
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE DOMAIN short_text AS varchar(20)")
        conn.execute("CREATE TABLE people (id int, mood mood, nick short_text, tmp int)")
        conn.execute("ALTER TYPE mood ADD VALUE 'happy'")
        conn.execute("ALTER TABLE people RENAME TO persons")
        conn.execute("CREATE TABLE scratch (x int)")
        conn.execute("DROP TABLE scratch")
        conn.execute("DROP TABLE IF EXISTS never_there")
        conn.execute("CREATE TABLE IF NOT EXISTS persons (id int)")
        conn.execute("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE VIEW v AS SELECT id FROM persons")
    ((mid, phase, ops),) = summary(out)
    assert (mid, phase) == ("typed", "pre")
    assert [op[:2] for op in ops] == [
        ("create_table", "people"),
        ("alter_column_type", "people"),  # mood gained a value
        ("rename_table", "people"),
        ("create_table", "scratch"),
        ("drop_table", "scratch"),
    ]
    kinds = [op.op for op in load_dir(out)[0].migration.operations]
    assert kinds.count("define_type") == 3  # enum, domain, enum with its new value
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_table_older_than_the_generic_files_starts_from_the_catalog(
    pg_dsn: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE legacy (id int, code text)")
        with observe(pg_dsn, out=tmp_path, framework="none", name="touch", echo=print) as cap:
            conn.execute("ALTER TABLE legacy ADD flag boolean, ALTER code SET NOT NULL")
    assert summary(tmp_path) == [
        ("touch", "pre",
         [("add_column", "legacy", "flag", "bool"), ("set_nullable", "legacy", "code")]),
    ]  # fmt: skip
    assert any("public.legacy" in w and "no generic file" in w for w in cap.warnings)


# How each tool records a migration, as the statements it sends (its version table DDL, then per
# migration: what it writes before, the migration's DDL, what it writes after).
TOOL_PROTOCOLS = {
    "golang-migrate": (
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)",
        ["TRUNCATE schema_migrations",
         "INSERT INTO schema_migrations VALUES ({v}, true)"],
        ["TRUNCATE schema_migrations",
         "INSERT INTO schema_migrations VALUES ({v}, false)"],
        ("1700000001", "1700000002"),
        ("1700000001_create_widgets", "1700000002_add_size"),
    ),
    "flyway": (
        "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50),"
        " description varchar(200) NOT NULL, script varchar(1000) NOT NULL, success bool)",
        [],
        ["INSERT INTO flyway_schema_history VALUES ({v}, '{v}', 'desc {v}', 'V{v}__x.sql', true)"],
        ("1", "2"),
        ("1_desc_1", "2_desc_2"),
    ),
    "prisma": (
        "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, migration_name text,"
        " finished_at timestamptz)",
        ["INSERT INTO _prisma_migrations VALUES ('{v}', '2024010100000{v}_step{v}', NULL)"],
        ["UPDATE _prisma_migrations SET finished_at = now() WHERE id = '{v}'"],
        ("1", "2"),
        ("20240101000001_step1", "20240101000002_step2"),
    ),
    "diesel": (
        "CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY,"
        " run_on timestamp NOT NULL DEFAULT now())",
        [],
        ["INSERT INTO __diesel_schema_migrations (version) VALUES ('2024-01-0{v}-000000')"],
        ("1", "2"),
        ("2024-01-01-000000", "2024-01-02-000000"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("tool", sorted(TOOL_PROTOCOLS))
def test_other_tools_version_tables_mark_migrations(pg_dsn: str, tmp_path: Path, tool: str) -> None:
    create, before, after, versions, ids = TOOL_PROTOCOLS[tool]
    project = tmp_path / "app"
    (project / "migrations").mkdir(parents=True)
    if tool == "golang-migrate":
        for v, name in (("1700000001", "create_widgets"), ("1700000002", "add_size")):
            (project / "migrations" / f"{v}_{name}.up.sql").write_text("-- stub\n")
    ddl = ["CREATE TABLE widgets (id int)", "ALTER TABLE widgets ADD COLUMN size int"]
    out = tmp_path / "gm"
    with (
        psycopg.connect(pg_dsn, autocommit=True) as conn,
        observe(pg_dsn, out=out, project=project, echo=lambda m: None) as cap,
    ):
        conn.execute(create)
        for v, statement in zip(versions, ddl, strict=True):
            for s in before:
                conn.execute(s.format(v=v))
            conn.execute(statement)
            for s in after:
                conn.execute(s.format(v=v))
    assert [m.id for m in cap.migrations] == list(ids)
    assert {m.source.framework for m in cap.migrations} == {tool}
    assert summary(out)[1][2] == [("add_column", "widgets", "size", "int32")]
    assert_parity(pg_dsn, out)
    assert_clean(pg_dsn)


def test_drop_and_readd_in_one_migration_is_kept_whole(pg_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int, b text)")
        with observe(
            pg_dsn, out=tmp_path, framework="none", name="redo", echo=lambda m: None
        ) as cap:
            conn.execute("ALTER TABLE t DROP COLUMN b")
            conn.execute("ALTER TABLE t ADD COLUMN b bigint")
    assert summary(tmp_path) == [
        ("redo", "pre", [("drop_column", "t", "b"), ("add_column", "t", "b", "int64")])
    ]
    assert any("cannot be moved to the post phase" in w for w in cap.warnings)


def test_one_transaction_for_all_revisions_still_splits_by_marker(
    pg_dsn: str, tmp_path: Path
) -> None:
    """Alembic without transaction_per_migration: every revision in one transaction."""
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/mig\n")
    (tmp_path / "mig" / "versions").mkdir(parents=True)
    for rev, slug in (("aa01", "first"), ("aa02", "second")):
        (tmp_path / "mig" / "versions" / f"{rev}_{slug}.py").write_text(f'revision = "{rev}"\n')
    out = tmp_path / "gm"
    with (
        psycopg.connect(pg_dsn) as conn,
        observe(pg_dsn, out=out, project=tmp_path, echo=lambda m: None),
    ):
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("CREATE TABLE t (a int)")
        conn.execute("INSERT INTO alembic_version VALUES ('aa01')")
        # A DO block and a plain statement in one string: the block gets the events the
        # statement after it cannot account for.
        conn.execute(
            "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN x int'; END $$;"
            " ALTER TABLE t ADD COLUMN y text"
        )
        conn.execute("UPDATE alembic_version SET version_num = 'aa02'")
        conn.commit()
    assert summary(out) == [
        ("aa01_first", "pre", [("create_table", "t", "a")]),
        ("aa02_second", "pre",
         [("add_column", "t", "x", "int32"), ("add_column", "t", "y", "string")]),
    ]  # fmt: skip
    second = load_dir(out)[1].migration.source
    assert second.file == "mig/versions/aa02_second.py"
    assert second.statements == [
        "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN x int'; END $$",
        "ALTER TABLE t ADD COLUMN y text",
    ]
    assert_parity(pg_dsn, out)


def test_markers_inside_one_string_split_its_statements(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "gm"
    with (
        psycopg.connect(pg_dsn, autocommit=True) as conn,
        observe(pg_dsn, out=out, framework="alembic", project=tmp_path, echo=lambda m: None),
    ):
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("CREATE TABLE t (a int)")
        # What `alembic upgrade --sql` output piped through one client call looks like.
        conn.execute(
            "ALTER TABLE t ADD COLUMN b int; INSERT INTO alembic_version VALUES ('bb01'); "
            "ALTER TABLE t ADD COLUMN c int; UPDATE alembic_version SET version_num = 'bb02'"
        )
    assert summary(out) == [
        ("bb01", "pre", [("create_table", "t", "a"), ("add_column", "t", "b", "int32")]),
        ("bb02", "pre", [("add_column", "t", "c", "int32")]),
    ]
    assert load_dir(out)[1].migration.source.statements == ["ALTER TABLE t ADD COLUMN c int"]
