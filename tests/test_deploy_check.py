"""``check`` on real engines: a clean deploy agrees; each kind of drift is named exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg

from deploy_project import PG_TARGET, cli, write_project
from gen_migrate.generic.files import write_sum

EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'
TABLES = ("public.issues", "public.notes", "public.projects")


def _deploy(root: Path) -> None:
    for phase in ("pre", "post"):
        out = cli(root, "apply", "--phase", phase)
        assert out.returncode == 0, out.stderr


def _check(root: Path) -> tuple[int, dict[str, list[str]]]:
    """Exit code, and the problems of every failing case by ``store kind name``."""
    out = cli(root, "check", "--json", "--junit", "check.xml")
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout)
    failing = {
        f"{c['store']} {c['kind']} {c['name']}": c["problems"]
        for c in report["cases"]
        if not c["ok"]
    }
    return out.returncode, failing


def _in_subprocess(root: Path, code: str) -> None:
    """chdb allows one data path per process: change stores by hand in a child process."""
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)


def test_clean_then_each_drift_is_reported(tmp_path: Path, pg_dsn: str) -> None:
    root = write_project(tmp_path / "app", source_dsn=pg_dsn, targets=PG_TARGET + EMBEDDED)
    _deploy(root)
    code, failing = _check(root)
    assert (code, failing) == (0, {})
    suites = ET.parse(root / "check.xml").getroot()
    assert suites.tag == "testsuites"
    by_store = {s.get("name"): [c.get("name") for c in s.iter("testcase")] for s in suites}
    for store in ("pg", "ch", "lake"):
        assert by_store[store] == ["applied checksums", *TABLES]
    assert by_store["postgres"] == list(TABLES)
    assert suites.get("failures") == "0"

    # A column added in Postgres without capture.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE issues ADD COLUMN by_hand integer")
    code, failing = _check(root)
    assert code == 1
    assert failing["postgres capture public.issues"] == [
        "column issues.by_hand exists in Postgres but in no generic migration: run capture"
    ]
    assert failing["ch parity public.issues"] == [
        "column issues.by_hand is missing in ch (expected Nullable(Int32))"
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE issues DROP COLUMN by_hand")

    # A column dropped by hand in ClickHouse.
    _in_subprocess(
        root,
        "import clickhouse_connect; from pathlib import Path;"
        "p = Path('.gen-migrate/clickhouse').resolve();"
        "c = clickhouse_connect.get_client(dsn=f'chdb://{p}');"
        "c.command('ALTER TABLE siphon_notes DROP COLUMN created_at')",
    )
    code, failing = _check(root)
    assert code == 1
    assert list(failing) == ["ch parity public.notes"]
    [problem] = failing["ch parity public.notes"]
    assert problem.startswith("column notes.created_at is missing in ch (expected ")

    # A type changed by hand in Iceberg: pyiceberg allows no such change in place, so the table
    # is recreated with projects.name as binary (keeping its properties, where state lives).
    _in_subprocess(
        root,
        "from pathlib import Path\n"
        "from pyiceberg.catalog import load_catalog\n"
        "from pyiceberg.schema import Schema\n"
        "from pyiceberg.types import BinaryType, LongType, NestedField\n"
        "b = Path('.gen-migrate/iceberg').resolve()\n"
        "cat = load_catalog('gen_migrate', type='sql', uri=f'sqlite:///{b}/catalog.db',"
        " warehouse=(b / 'warehouse').as_uri())\n"
        "old = cat.load_table('default.projects')\n"
        "props = dict(old.properties)\n"
        "cat.drop_table('default.projects')\n"
        "cat.create_table('default.projects', schema=Schema("
        "NestedField(1, 'id', LongType(), required=True),"
        " NestedField(2, 'name', BinaryType(), required=True), identifier_field_ids=[1]),"
        " properties=props)\n",
    )
    code, failing = _check(root)
    assert code == 1
    assert list(failing) == ["ch parity public.notes", "lake parity public.projects"]
    [problem] = failing["lake parity public.projects"]
    assert (
        problem.startswith("column projects.name is binary")
        and "in lake, expected string" in problem
    )

    # A hand-edited generic file.
    path = root / "generic_migrations" / "0004_create_notes.json"
    path.write_text(path.read_text().replace('"body"', '"text"'))
    code, failing = _check(root)
    assert code == 1
    problems = failing["files integrity generic_migrations"]
    assert any("0004_create_notes.json: changed since it was hashed" in p for p in problems), (
        problems
    )
    write_sum(path.parent)
    code, failing = _check(root)
    for store in ("pg", "ch", "lake"):
        [problem] = failing[f"{store} integrity applied checksums"]
        assert problem.startswith("0004_create_notes.json changed after it was applied")
    junit = ET.parse(root / "check.xml").getroot()
    assert int(junit.get("failures") or 0) == len(failing)
