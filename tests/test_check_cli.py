"""``gen-migrate check`` as CI runs it: exit codes, the human table, --json, --junit,
--target, --stores-only; on the embedded stores (no Postgres needed), one process per call."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deploy_project import cli, write_project
from gen_migrate.config import load_config
from gen_migrate.deploy.runner import DeployOptions, apply

EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deploy project applied to both embedded stores; no [source] dsn."""
    path = write_project(tmp_path_factory.mktemp("cli") / "app", source_dsn=None, targets=EMBEDDED)
    config = load_config(cwd=path)
    for phase in ("pre", "post"):
        apply(config, DeployOptions(phase=phase))
    return path


def test_clean_human_table_exits_0(root: Path) -> None:
    out = cli(root, "check")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any("ch" in line and "4 case(s) agree" in line for line in lines), out.stdout
    assert any("lake" in line and "4 case(s) agree" in line for line in lines), out.stdout
    assert (
        "skipped: capture completeness: no [source] dsn configured; stores are compared with "
        "the schema the generic migrations describe" in out.stdout
    )
    assert lines[-1] == "9 checked, 0 failing: every store agrees"


def test_drift_json_junit_and_target_selection(root: Path) -> None:
    edited = root / "generic_migrations" / "0009_add_note_created_at.json"
    original = edited.read_text()
    # The generic file now says notes.created_at is a date: the stores hold a timestamp.
    edited.write_text(original.replace('"kind": "timestamptz"', '"kind": "date"'))
    try:
        out = cli(root, "check", "--json", "--junit", "reports/check.xml", "--target", "lake")
        assert out.returncode == 1, out.stderr
        report = json.loads(out.stdout)
        failing = {
            f"{c['store']} {c['name']}": c["problems"] for c in report["cases"] if not c["ok"]
        }
        assert set(failing) == {
            "files generic_migrations",
            "lake applied checksums",
            "lake public.notes",
        }
        assert failing["lake public.notes"] == [
            "column notes.created_at is timestamptz in lake, expected date"
        ]
        assert report["queries"]["lake"] > 0 and "ch" not in report["queries"]
        suites = ET.parse(root / "reports" / "check.xml").getroot()
        by_name = {s.get("name"): s for s in suites.iter("testsuite")}
        assert list(by_name) == ["files", "lake"]
        [notes] = [c for c in by_name["lake"].iter("testcase") if c.get("name") == "public.notes"]
        failure = notes.find("failure")
        assert failure is not None and failure.get("type") == "parity"
        assert (
            failure.get("message")
            == "column notes.created_at is timestamptz in lake, expected date"
        )

        human = cli(root, "check", "--target", "ch")
        assert human.returncode == 1
        assert "column notes.created_at is Nullable(DateTime64(6, 'UTC')) in ch, expected" in (
            human.stdout
        )
    finally:
        edited.write_text(original)


def test_bad_input_exits_2(root: Path) -> None:
    out = cli(root, "check", "--target", "nope")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: target nope: not configured (configured targets: ch, lake)"

    broken = root / "generic_migrations" / "0003_add_issue_state.json"
    original = broken.read_text()
    broken.write_text(original.replace('"op": "add_column"', '"op": "add_colum"'))
    try:
        out = cli(root, "check", "--stores-only", "--json")
        assert out.returncode == 2, out.stderr
        report = json.loads(out.stdout)
        assert (report["exit_code"], report["ok"]) == (2, False)
        [files] = report["cases"]
        [problem] = files["problems"]
        assert problem.startswith(f"{broken}: $.operations[0]: Input tag 'add_colum'")
        assert report["skipped"][-1] == (
            "store parity: the generic migrations could not be read or replayed"
        )
        assert out.stderr == ""
    finally:
        broken.write_text(original)
