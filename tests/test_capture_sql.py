"""``gen-migrate capture --sql`` end to end, over every migration-directory layout."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from gen_migrate.capture.sqlfiles import classify_file, discover, migration_id, natural_key
from gen_migrate.cli import main
from gen_migrate.errors import InputError
from gen_migrate.generic.files import load_dir, read_sum
from gen_migrate.generic.schema import replay

LAYOUTS = Path(__file__).resolve().parent.parent / "fixtures" / "sql_layouts"

# layout → (framework label, version of each of the four migrations)
EXPECTED = {
    "golang_migrate": ("golang-migrate", ["1", "2", "3", "10"]),
    "flyway": ("flyway", ["1", "1.1", "2", "10"]),
    "diesel": (
        "diesel",
        ["2024-01-01-000001", "2024-01-02-000001", "2024-02-01-120000", "2024-10-01-000000"],
    ),
    "prisma": ("prisma", ["20240101000001", "20240102000001", "20240201120000", "20241001000000"]),
    "plain": ("sql", ["1", "2", "3", "10"]),
}
NAMES = ["create_users", "add_profile", "grant_readers", "rename_email_drop_bio"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real console entry point; its exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (working directory) holding a copy of every layout fixture."""
    shutil.copytree(LAYOUTS, tmp_path / "layouts")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(directory: Path) -> dict[str, bytes]:
    return (
        {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}
    )


@pytest.mark.parametrize("layout", sorted(EXPECTED))
def test_layout_ids_order_phases_and_validate(
    layout: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    framework, versions = EXPECTED[layout]
    out = project / "generic_migrations"
    code, stdout, _ = run(capsys, "capture", "--sql", f"layouts/{layout}")
    assert code == 0
    ids = [f"{v}_{n}" for v, n in zip(versions, NAMES, strict=True)]
    expected_order = [ids[0], ids[1], ids[3], ids[3] + ".post"]
    sums = read_sum(out)
    assert sums is not None
    assert [name for name, _ in sums.entries] == [f"{i}.json" for i in expected_order]

    loaded = {mf.migration.id: mf.migration for mf in load_dir(out)}
    ops = {mid: [op.op for op in m.operations] for mid, m in loaded.items()}
    assert ops == {
        ids[0]: ["define_type", "create_table"],
        ids[1]: ["add_column", "add_column", "add_column"],
        ids[3]: ["rename_column"],
        ids[3] + ".post": ["drop_column"],
    }
    phases = {mid: m.phase for mid, m in loaded.items()}
    assert phases == {ids[0]: "pre", ids[1]: "pre", ids[3]: "pre", ids[3] + ".post": "post"}
    first = loaded[ids[0]].source
    assert (first.framework, first.version, first.name) == (framework, versions[0], NAMES[0])
    assert first.file is not None and first.file.startswith(f"layouts/{layout}/")
    assert loaded[ids[1]].source.statements[0].startswith("ALTER TABLE users ADD COLUMN mood")
    assert f"nothing to write for layouts/{layout}/" in stdout and "grant_readers" in stdout

    schema = replay(m.operations for m in loaded.values())
    users = next(iter(schema.tables.values()))
    assert list(users.columns) == ["id", "email_address", "created_at", "mood", "tags"]

    code, stdout, stderr = run(capsys, "validate")
    assert code == 0, stderr
    assert "ok: 4 migration(s)" in stdout


@pytest.mark.parametrize("layout", ["flyway", "diesel"])
def test_capturing_twice_is_byte_identical(
    layout: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "generic_migrations"
    assert run(capsys, "capture", "--sql", f"layouts/{layout}")[0] == 0
    first = snapshot(out)
    code, stdout, _ = run(capsys, "capture", "--sql", f"layouts/{layout}")
    assert code == 0
    assert snapshot(out) == first
    assert "0 file(s) written, 4 unchanged" in stdout
    shutil.rmtree(out)
    assert run(capsys, "capture", "--sql", f"layouts/{layout}")[0] == 0
    assert snapshot(out) == first


def test_verbose_lists_every_skipped_statement(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = run(capsys, "--verbose", "capture", "--sql", "layouts/plain")
    assert code == 0
    skipped = [line for line in stdout.splitlines() if line.startswith("skipped ")]
    assert skipped == [
        "skipped layouts/plain/2_add_profile.sql:3: index: CREATE INDEX users_email_idx ON users "
        "(email)",
        "skipped layouts/plain/2_add_profile.sql:4: comment: COMMENT ON COLUMN users.bio IS "
        "'free text'",
        "skipped layouts/plain/3_grant_readers.sql:1: index: CREATE INDEX users_created_at_idx "
        "ON users (created_at)",
        "skipped layouts/plain/3_grant_readers.sql:2: grant/revoke: GRANT SELECT ON users TO "
        "PUBLIC",
    ]


def test_bad_statement_names_file_and_line_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "generic_migrations"
    assert run(capsys, "capture", "--sql", "layouts/plain/1_create_users.sql")[0] == 0
    before = snapshot(out)
    bad = project / "layouts" / "plain" / "2_add_profile.sql"
    bad.write_text(bad.read_text() + "DO $$ BEGIN EXECUTE 'ALTER TABLE users ADD x int'; END $$;\n")
    code, stdout, stderr = run(capsys, "capture", "--sql", "layouts/plain")
    assert code == 2
    assert stderr.startswith("error: layouts/plain/2_add_profile.sql:5: DO block")
    assert "DO $$ BEGIN EXECUTE" in stderr and "Traceback" not in stderr
    assert stdout == ""
    assert snapshot(out) == before

    fresh = project / "fresh"
    code, _, stderr = run(capsys, "capture", "--sql", "layouts/plain", "--out", "fresh")
    assert code == 2 and not fresh.exists()


def test_incremental_capture_appends_and_replaces_in_place(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "generic_migrations"
    plain = project / "layouts" / "plain"
    code, _, _ = run(
        capsys,
        "capture",
        "--sql",
        str(plain / "1_create_users.sql"),
        str(plain / "2_add_profile.sql"),
    )
    assert code == 0
    code, stdout, _ = run(capsys, "capture", "--sql", "layouts/plain/10_rename_email_drop_bio.sql")
    assert code == 0, "earlier generic files are replayed, so the rename knows its column"
    order = [n for n, _ in read_sum(out).entries]  # type: ignore[union-attr]
    assert order == [
        "1_create_users.json",
        "2_add_profile.json",
        "10_rename_email_drop_bio.json",
        "10_rename_email_drop_bio.post.json",
    ]
    untouched = (out / "1_create_users.json").read_bytes()
    (plain / "2_add_profile.sql").write_text(
        (plain / "2_add_profile.sql").read_text() + "ALTER TABLE users ADD COLUMN age int;\n"
    )
    code, stdout, _ = run(capsys, "capture", "--sql", "layouts/plain")
    assert code == 0
    assert "wrote generic_migrations/2_add_profile.json (4 operation(s), pre)" in stdout
    assert "1 file(s) written, 3 unchanged" in stdout
    assert [n for n, _ in read_sum(out).entries] == order  # type: ignore[union-attr]
    assert (out / "1_create_users.json").read_bytes() == untouched
    assert run(capsys, "validate")[0] == 0


def test_phase_and_name_options(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = project / "generic_migrations"
    first_two = ["layouts/plain/1_create_users.sql", "layouts/plain/2_add_profile.sql"]
    assert run(capsys, "capture", "--sql", *first_two)[0] == 0
    code, _, _ = run(
        capsys,
        "capture",
        "--sql",
        "layouts/plain/10_rename_email_drop_bio.sql",
        "--phase",
        "pre",
        "--name",
        "Rename Email!",
    )
    assert code == 0
    data = json.loads((out / "10_Rename_Email.json").read_text())
    assert data["phase"] == "pre" and data["source"]["name"] == "Rename Email!"
    assert [op["op"] for op in data["operations"]] == ["rename_column", "drop_column"]
    assert not (out / "10_Rename_Email.post.json").exists()

    code, _, stderr = run(capsys, "capture", "--sql", "layouts/plain", "--name", "x")
    assert code == 2 and "--name applies to one migration; 4 were found" in stderr


def test_unsplittable_migration_is_refused_with_the_way_out(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = project / "5_recreate.sql"
    sql.write_text("CREATE TABLE a (id int);\nDROP TABLE a;\nCREATE TABLE a (id bigint);\n")
    code, _, stderr = run(capsys, "capture", "--sql", "5_recreate.sql")
    assert code == 2
    assert stderr.startswith("error: 5_recreate.sql: migration 5_recreate: it drops public.a")
    assert "--phase pre" in stderr
    assert run(capsys, "capture", "--sql", "5_recreate.sql", "--phase", "pre")[0] == 0


def test_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "capture")
    assert code == 2 and "nothing to capture: pass --sql PATH" in stderr
    code, _, stderr = run(capsys, "capture", "--sql", "layouts/plain", "--dsn", "postgresql://x")
    assert code == 2 and "use one of them" in stderr
    code, _, stderr = run(capsys, "capture", "--sql", "no/such/dir")
    assert code == 2 and "no/such/dir: no such file or directory" in stderr
    (project / "layouts" / "golang_migrate" / "notes.sql").write_text("SELECT 1;\n")
    code, _, stderr = run(capsys, "capture", "--sql", "layouts/golang_migrate")
    assert code == 2 and "notes.sql: does not fit the golang-migrate layout" in stderr
    code, _, stderr = run(
        capsys, "capture", "--sql", "layouts/golang_migrate/1_create_users.down.sql"
    )
    assert code == 2 and "a down migration" in stderr


def test_discovery_orders_and_ids(tmp_path: Path) -> None:
    for name in ("V10__c.sql", "V2__b.sql", "V1_1__a2.sql", "V1__a.sql", "R__views.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    found = discover([tmp_path])
    assert [m.id for m in found] == ["1_a", "1_1_a2", "2_b", "10_c", "R_views"]
    (tmp_path / "V1.1__dup.sql").write_text("SELECT 1;")
    with pytest.raises(
        InputError, match=re.escape("V1_1__a2.sql: version 1_1 is also used by V1.1__dup.sql")
    ):
        discover([tmp_path])
    assert migration_id("2024-01-01", "add users (v2)") == "2024-01-01_add_users_v2"
    assert sorted(["10_x", "2_x", "1_x"], key=natural_key) == ["1_x", "2_x", "10_x"]
    single = classify_file(Path("prisma/20230404095503_initial/migration.sql"))
    assert (single.framework, single.id) == ("prisma", "20230404095503_initial")
    plain = classify_file(Path("schema.sql"))
    assert (plain.framework, plain.id) == ("sql", "schema")


def test_live_form_is_wired_to_live_capture(
    project: Path, pg_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = (
        "import psycopg, sys\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
        "    c.execute('CREATE TABLE live_t (id bigint NOT NULL, note text)')\n"
    )
    code, stdout, stderr = run(
        capsys,
        "capture",
        "--dsn",
        pg_dsn,
        "--framework",
        "none",
        "--",
        sys.executable,
        "-c",
        script,
        pg_dsn,
    )
    assert code == 0, stderr
    (migration,) = (mf.migration for mf in load_dir(project / "generic_migrations"))
    assert [op.op for op in migration.operations] == ["create_table"]
    assert "wrote " in stdout


def test_recapture_that_breaks_a_later_file_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "generic_migrations"
    assert run(capsys, "capture", "--sql", "layouts/plain")[0] == 0
    before = snapshot(out)
    first = project / "layouts" / "plain" / "1_create_users.sql"
    first.write_text(first.read_text().replace("email varchar", "mail varchar"))
    code, _, stderr = run(capsys, "capture", "--sql", "layouts/plain/1_create_users.sql")
    assert code == 2
    assert stderr.startswith("error: 10_rename_email_drop_bio: no longer fits after this capture")
    assert "column public.users.email does not exist" in stderr
    assert snapshot(out) == before
