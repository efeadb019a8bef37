"""plan / apply / status through the CLI on the real Postgres: phases, order, refusals, exit
codes, golden plans, dry runs and the app's own COMMAND."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from deploy_project import (
    ISSUES,
    PG_TARGET,
    TEXT,
    cli,
    history,
    migration,
    pg_snapshot,
    write_project,
)
from gen_migrate.deploy.lock import deploy_lock
from gen_migrate.generic.files import write_sum
from gen_migrate.generic.operations import AddColumn, Column

GOLDEN = Path(__file__).parent / "golden" / "plan"
UPDATE = os.environ.get("GEN_MIGRATE_UPDATE_GOLDEN") == "1"


@pytest.fixture
def project(tmp_path: Path, pg_dsn: str) -> Path:
    return write_project(tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs (GEN_MIGRATE_UPDATE_GOLDEN=1 rewrites it)"


def _plan_json(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    data.pop("lock")
    return data


@pytest.mark.parametrize("phase", ["pre", "post"])
def test_plan_is_golden_and_changes_nothing(project: Path, pg_dsn: str, phase: str) -> None:
    if phase == "post":
        assert cli(project, "apply", "--phase", "pre").returncode == 0
    before = pg_snapshot(pg_dsn)
    text = cli(project, "plan", "--phase", phase)
    assert text.returncode == 0, text.stderr
    _golden(f"postgres_{phase}.txt", text.stdout)
    as_json = cli(project, "plan", "--phase", phase, "--json")
    assert as_json.returncode == 0, as_json.stderr
    _golden(f"postgres_{phase}.json", json.dumps(_plan_json(as_json.stdout), indent=2) + "\n")
    assert pg_snapshot(pg_dsn) == before


def test_dry_run_prints_the_plan_and_changes_nothing(project: Path, pg_dsn: str) -> None:
    before = pg_snapshot(pg_dsn)
    out = cli(project, "apply", "--phase", "pre", "--dry-run", "--", "sh", "-c", "exit 9")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("dry run: phase pre, 1 target(s)\n")
    assert out.stdout.endswith("then: sh -c exit 9\n")
    assert "8 pending migration(s)" in out.stdout
    assert pg_snapshot(pg_dsn) == before


def test_pre_then_post_reaches_the_full_history(project: Path, pg_dsn: str) -> None:
    pre = cli(project, "apply", "--phase", "pre")
    assert pre.returncode == 0, pre.stderr
    assert pre.stdout.count("step 0 done") == 8
    state = pg_snapshot(pg_dsn)["state"]
    assert [r[1] for r in state] == [m.id for m in history() if m.phase == "pre"]
    post = cli(project, "apply", "--phase", "post", "--json")
    assert post.returncode == 0, post.stderr
    report = json.loads(post.stdout)
    assert [m["id"] for m in report["targets"][0]["migrations"]] == [
        "0008_drop_issue_state",
        "0010_drop_project_path",
    ]
    again = cli(project, "apply", "--phase", "post")
    assert again.returncode == 0
    assert "nothing to do: every post migration is already applied" in again.stdout
    status = cli(project, "status", "--json")
    assert status.returncode == 0, status.stderr
    [pg] = json.loads(status.stdout)["targets"]
    assert pg["applied"] == [m.id for m in history()]
    assert pg["pending_pre"] == pg["pending_post"] == []
    assert pg["last_applied"] == "0010_drop_project_path"
    assert pg["schema_hash"] == pg["generic_hash"]
    assert pg["drift"] is False


def test_status_flags_drift_and_pending(project: Path, pg_dsn: str) -> None:
    import psycopg

    assert cli(project, "apply", "--phase", "pre").returncode == 0
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE notes ADD COLUMN by_hand int")
    out = cli(project, "status")
    assert out.returncode == 0, out.stderr
    assert "pending post: 0008_drop_issue_state, 0010_drop_project_path" in out.stdout
    assert "DRIFT: live columns differ from the applied migrations in: public.notes" in out.stdout
    [pg] = json.loads(cli(project, "status", "--json").stdout)["targets"]
    assert pg["drift_tables"] == ["public.notes"]
    assert pg["schema_hash"] != pg["generic_hash"]


def test_post_before_pre_is_refused_unless_allowed(project: Path, pg_dsn: str) -> None:
    out = cli(project, "apply", "--phase", "post")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: target pg: post migration 0008_drop_issue_state would run before the older "
        "pending pre migration 0001_create_projects: run `apply --phase pre` first, or pass "
        "--allow-out-of-order"
    )
    assert pg_snapshot(pg_dsn)["state"] == []


def test_pre_overtaking_an_older_post_on_the_same_table_is_refused(
    tmp_path: Path, pg_dsn: str
) -> None:
    extra = migration(
        "0011_add_issue_label",
        "pre",
        ["ALTER TABLE issues ADD COLUMN label text"],
        [AddColumn(table=ISSUES, column=Column(name="label", type=TEXT))],
    )
    root = write_project(
        tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET, migrations=[*history(), extra]
    )
    out = cli(root, "apply", "--phase", "pre")
    assert out.returncode == 2
    assert (
        "pre migration 0011_add_issue_label would run before the older pending post "
        "migration 0008_drop_issue_state on the same table" in out.stderr
    )
    assert pg_snapshot(pg_dsn)["state"] == []
    ok = cli(root, "apply", "--phase", "pre", "--allow-out-of-order")
    assert ok.returncode == 0, ok.stderr
    assert len(pg_snapshot(pg_dsn)["state"]) == 9


def _tamper_applied(root: Path) -> str:
    path = root / "generic_migrations" / "0003_add_issue_state.json"
    path.write_text(path.read_text().replace("ADD COLUMN state text", "ADD COLUMN state varchar"))
    write_sum(path.parent)
    return "0003_add_issue_state.json"


def _malformed(root: Path) -> str:
    (root / "generic_migrations" / "0011_broken.json").write_text('{"format": 1, "id": ')
    write_sum(root / "generic_migrations")
    return "0011_broken.json"


def _sum_mismatch(root: Path) -> str:
    path = root / "generic_migrations" / "0009_add_note_created_at.json"
    path.write_text(path.read_text().replace("created_at", "created_on"))
    return "0009_add_note_created_at.json"


def _unknown_op(root: Path) -> str:
    path = root / "generic_migrations" / "0011_odd.json"
    path.write_text(
        json.dumps(
            {
                "format": 1,
                "id": "0011_odd",
                "source": {"framework": "sql", "version": "0011"},
                "operations": [{"op": "frobnicate_table", "table": {"name": "issues"}}],
            }
        )
    )
    write_sum(path.parent)
    return "0011_odd.json"


@pytest.mark.parametrize("spoil", [_tamper_applied, _malformed, _sum_mismatch, _unknown_op])
def test_bad_files_are_one_line_exit_2_nothing_applied(
    project: Path, pg_dsn: str, spoil: Any
) -> None:
    first = cli(project, "apply", "--phase", "pre")
    assert first.returncode == 0, first.stderr
    before = pg_snapshot(pg_dsn)
    name = spoil(project)
    for phase in ("pre", "post"):
        out = cli(project, "apply", "--phase", phase)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert name in lines[0]
        assert "Traceback" not in out.stdout + out.stderr
    assert pg_snapshot(pg_dsn) == before


def test_tampered_file_names_both_checksums(project: Path) -> None:
    assert cli(project, "apply", "--phase", "pre").returncode == 0
    import hashlib

    path = project / "generic_migrations" / "0003_add_issue_state.json"
    old = hashlib.sha256(path.read_bytes()).hexdigest()
    _tamper_applied(project)
    new = hashlib.sha256(path.read_bytes()).hexdigest()
    out = cli(project, "status")
    assert out.returncode == 2
    assert f"applied sha256:{old}, file sha256:{new}" in out.stderr
    assert "changed after it was applied to target pg" in out.stderr


def test_missing_target_is_one_line_exit_2(project: Path, pg_dsn: str) -> None:
    out = cli(project, "apply", "--phase", "pre", "--target", "pg", "--target", "lake")
    assert out.returncode == 2
    assert out.stderr == "error: target lake: not configured (configured targets: pg)\n"
    assert pg_snapshot(pg_dsn)["state"] == []


def test_sql_first_postgres_target_uses_the_source(tmp_path: Path, pg_dsn: str) -> None:
    root = write_project(tmp_path / "app", source_dsn=pg_dsn)
    nothing = cli(root, "apply", "--phase", "pre")
    assert nothing.returncode == 2
    assert "no targets configured" in nothing.stderr
    out = cli(root, "apply", "--phase", "pre", "--target", "postgres")
    assert out.returncode == 0, out.stderr
    assert {r[0] for r in pg_snapshot(pg_dsn)["state"]} == {"postgres"}


def test_command_runs_after_all_targets_and_its_code_is_returned(
    project: Path, pg_dsn: str
) -> None:
    marker = project / "count.txt"
    count = (
        "import psycopg,sys; c=psycopg.connect(sys.argv[1]);"
        "n=c.execute('select count(*) from gen_migrate_migrations').fetchone()[0];"
        "open(sys.argv[2],'w').write(str(n)); sys.exit(5)"
    )
    import sys

    out = cli(
        project, "apply", "--phase", "pre", "--", sys.executable, "-c", count, pg_dsn, str(marker)
    )
    assert out.returncode == 5, out.stderr
    assert marker.read_text() == "8"


def test_command_does_not_run_when_a_step_fails(tmp_path: Path, pg_dsn: str) -> None:
    broken = migration("0011_broken", "pre", ["ALTER TABLE nowhere ADD COLUMN x int"], [])
    root = write_project(
        tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET, migrations=[*history(), broken]
    )
    marker = root / "ran.txt"
    out = cli(root, "apply", "--phase", "pre", "--", "touch", str(marker))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        'error: target pg: migration 0011_broken: statement 1: relation "nowhere" does not exist'
    ]
    assert not marker.exists()
    assert len(pg_snapshot(pg_dsn)["state"]) == 8


@pytest.mark.parametrize("with_dsn", [True, False], ids=["advisory", "file"])
def test_lock_timeout_exit_3(tmp_path: Path, pg_dsn: str, with_dsn: bool) -> None:
    targets = PG_TARGET if with_dsn else f'[targets.pg]\ntype = "postgres"\ndsn = "{pg_dsn}"\n'
    root = write_project(tmp_path / "app", source_dsn=pg_dsn if with_dsn else None, targets=targets)
    with deploy_lock(pg_dsn if with_dsn else None, root / ".gen-migrate", 5):
        out = cli(root, "apply", "--phase", "pre", "--lock-timeout", "0.3")
    assert out.returncode == 3
    assert "still held by another deployer after 0.3s" in out.stderr
    assert pg_snapshot(pg_dsn)["state"] == []
    assert cli(root, "apply", "--phase", "pre", "--lock-timeout", "0.3").returncode == 0


EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'


@pytest.mark.slow
def test_three_targets_plan_golden_and_dry_run_changes_nothing(tmp_path: Path, pg_dsn: str) -> None:
    root = write_project(tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET + EMBEDDED)

    def snapshot() -> dict[str, Any]:
        out = cli(root, "status", "--json")
        assert out.returncode == 0, out.stderr
        return {"status": json.loads(out.stdout), "postgres": pg_snapshot(pg_dsn)}

    for phase in ("pre", "post"):
        before = snapshot()
        plan = cli(root, "plan", "--phase", phase)
        assert plan.returncode == 0, plan.stderr
        _golden(f"three_targets_{phase}.txt", plan.stdout)
        dry = cli(root, "apply", "--phase", phase, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout == plan.stdout.replace("plan: ", "dry run: ", 1)
        assert snapshot() == before
        applied = cli(root, "apply", "--phase", phase)
        assert applied.returncode == 0, applied.stderr
    final = snapshot()
    assert all(s["drift"] is False and not s["pending_post"] for s in final["status"]["targets"])


def test_progress_on_a_terminal_is_rich_and_plain_otherwise(project: Path) -> None:
    import pty
    import subprocess
    import sys

    master, replica = pty.openpty()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "TERM": "xterm-256color"}
    env.pop("GEN_MIGRATE_SOURCE_DSN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gen_migrate", "apply", "--phase", "pre"],
        cwd=project,
        stdout=replica,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(replica)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode()
    assert "\x1b[" in text  # styled by rich
    assert text.count("✓") == 8
    plain = cli(project, "apply", "--phase", "post")
    assert plain.returncode == 0
    assert "\x1b[" not in plain.stdout
    assert "    step 0 done: run 1 statement(s) of sql 0008\n" in plain.stdout


@pytest.mark.slow
def test_three_targets_tampered_file_refused_before_any_store_changes(
    tmp_path: Path, pg_dsn: str
) -> None:
    root = write_project(tmp_path / "app", source_dsn=pg_dsn, targets=EMBEDDED + PG_TARGET)
    assert cli(root, "apply", "--phase", "pre").returncode == 0
    directory = root / "generic_migrations"
    original = {p.name: p.read_bytes() for p in directory.iterdir()}
    _tamper_applied(root)
    out = cli(root, "apply", "--phase", "post")
    assert out.returncode == 2
    [line] = out.stderr.splitlines()
    assert "0003_add_issue_state.json: changed after it was applied to target ch" in line
    for name, data in original.items():
        (directory / name).write_bytes(data)
    status = cli(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    for target in json.loads(status.stdout)["targets"]:
        assert target["pending_post"] == ["0008_drop_issue_state", "0010_drop_project_path"]
        assert target["drift"] is False


@pytest.mark.slow
def test_three_targets_command_sees_every_store_done(tmp_path: Path, pg_dsn: str) -> None:
    import sys

    root = write_project(tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET + EMBEDDED)
    script = f"{sys.executable} -m gen_migrate status --json > seen.json; exit 4"
    out = cli(root, "apply", "--phase", "pre", "--", "sh", "-c", script)
    assert out.returncode == 4, out.stderr
    seen = json.loads((root / "seen.json").read_text())["targets"]
    assert [t["name"] for t in seen] == ["pg", "ch", "lake"]
    for target in seen:
        assert target["pending_pre"] == [] and target["drift"] is False
        assert len(target["applied"]) == 8
