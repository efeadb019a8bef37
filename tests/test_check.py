"""``check`` on real engines (Postgres, chdb, SQLite Iceberg catalog), in process.

Each test builds a small project: generic files with a sum, the same history run in Postgres,
and both embedded stores deployed by the deploy runner. Then drift is made by hand in one place
at a time and the report must name exactly that table and column.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import create_database, drop_database, dsn_for
from deploy_project import history, write_project
from gen_migrate.check.report import CheckReport, render_table, to_junit
from gen_migrate.check.runner import CheckOptions, run_check
from gen_migrate.config import Config, load_config
from gen_migrate.deploy.runner import DeployOptions, apply
from gen_migrate.dialects.iceberg.catalog import catalog_properties
from gen_migrate.generic.files import write_sum
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import AddColumn, Column, CreateTable, DropTable, TableRef
from gen_migrate.generic.types import t

EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'
TABLES = ["public.issues", "public.notes", "public.projects"]


def _stars() -> Migration:
    """projects.stars integer: a column Iceberg can promote (int → long) by hand."""
    return Migration(
        id="0011_add_project_stars",
        phase="pre",
        source=Source(
            framework="sql",
            version="0011",
            statements=["ALTER TABLE projects ADD COLUMN stars integer"],
        ),
        operations=[
            AddColumn(
                table=TableRef(name="projects"),
                column=Column(name="stars", type=t("int32", pg="integer")),
            )
        ],
    )


def _project(root: Path, dsn: str | None, migrations: list[Migration]) -> Config:
    """Write the project, run its SQL in Postgres (when ``dsn``), apply both phases."""
    write_project(root, source_dsn=dsn, targets=EMBEDDED, migrations=migrations)
    if dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for m in migrations:
                for statement in m.source.statements:
                    conn.execute(statement)
    config = load_config(cwd=root)
    for phase in ("pre", "post"):
        apply(config, DeployOptions(phase=phase, allow_out_of_order=True))
    return config


def _failing(report: CheckReport) -> dict[str, list[str]]:
    return {f"{c.store} {c.kind} {c.name}": c.problems for c in report.failures}


@contextmanager
def _chdb(config: Config) -> Iterator[Any]:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{config.state_dir / 'clickhouse'}")
    try:
        yield client
    finally:
        client.close()


def _iceberg_table(config: Config, name: str) -> Any:
    from pyiceberg.catalog import load_catalog

    tc = config.targets["lake"]
    assert tc.type == "iceberg"
    catalog = load_catalog("gen_migrate", **catalog_properties(tc, config.root))
    return catalog.load_table(f"default.{name}")


@pytest.fixture
def project(tmp_path: Path, pg_dsn: str) -> Config:
    return _project(tmp_path / "app", pg_dsn, [*history(), _stars()])


def test_clean_project_agrees_and_junit_has_one_case_per_table_per_store(
    project: Config, tmp_path: Path
) -> None:
    report = run_check(project)
    assert _failing(report) == {}
    assert (report.ok, report.exit_code, report.skipped) == (True, 0, [])
    junit = tmp_path / "check.xml"
    junit.write_text(to_junit(report))
    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "12", "0")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["files", "postgres", "ch", "lake"]
    for store in ("ch", "lake"):
        cases = [(c.get("classname"), c.get("name")) for c in suites[store].iter("testcase")]
        assert cases == [
            (f"{store}.integrity", "applied checksums"),
            *[(f"{store}.parity", name) for name in TABLES],
        ]
        assert suites[store].get("tests") == "4"
    assert [c.get("name") for c in suites["postgres"].iter("testcase")] == TABLES
    assert "every store agrees" in render_table(report)


def test_column_added_in_postgres_without_capture(project: Config, tmp_path: Path) -> None:
    assert project.source.dsn
    with psycopg.connect(project.source.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE issues ADD COLUMN by_hand integer")
    report = run_check(project)
    assert report.exit_code == 1
    assert _failing(report) == {
        "postgres capture public.issues": [
            "column issues.by_hand exists in Postgres but in no generic migration: run capture"
        ],
        "ch parity public.issues": [
            "column issues.by_hand is missing in ch (expected Nullable(Int32))"
        ],
        "lake parity public.issues": ["column issues.by_hand is missing in lake (expected int)"],
    }
    junit = tmp_path / "drift.xml"
    junit.write_text(to_junit(report))
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "3"
    [failure] = [
        c.find("failure")
        for c in root.iter("testcase")
        if c.get("classname") == "ch.parity" and c.get("name") == "public.issues"
    ]
    assert failure is not None
    assert failure.text == "column issues.by_hand is missing in ch (expected Nullable(Int32))"

    # --stores-only leaves Postgres out: the stores agree with the generic files.
    stores = run_check(project, CheckOptions(stores_only=True))
    assert (stores.exit_code, _failing(stores), stores.reference) == (
        0,
        {},
        "the generic migrations",
    )
    assert stores.skipped == [
        "capture completeness: --stores-only; stores are compared with the schema the generic "
        "migrations describe"
    ]
    assert "postgres" not in {c.store for c in stores.cases}


def test_column_dropped_by_hand_in_clickhouse(project: Config) -> None:
    with _chdb(project) as client:
        client.command("ALTER TABLE siphon_notes DROP COLUMN created_at")
    report = run_check(project)
    assert report.exit_code == 1
    assert _failing(report) == {
        "ch parity public.notes": [
            "column notes.created_at is missing in ch (expected Nullable(DateTime64(6, 'UTC')))"
        ]
    }


def test_type_changed_by_hand_in_iceberg(project: Config) -> None:
    from pyiceberg.types import LongType

    table = _iceberg_table(project, "projects")
    with table.update_schema() as update:
        update.update_column("stars", LongType())
    report = run_check(project, CheckOptions(targets=["lake"]))
    assert report.exit_code == 1
    assert _failing(report) == {
        "lake parity public.projects": ["column projects.stars is long in lake, expected int"]
    }
    assert {c.store for c in report.cases} == {"files", "postgres", "lake"}


def test_hand_edited_generic_file(project: Config) -> None:
    path = project.migrations_dir / "0004_create_notes.json"
    path.write_text(path.read_text().replace("CREATE TABLE notes", "CREATE TABLE  notes"))
    report = run_check(project)
    assert report.exit_code == 1
    failing = _failing(report)
    stores = ["ch integrity applied checksums", "lake integrity applied checksums"]
    assert list(failing) == ["files integrity generic_migrations", *stores]
    [problem] = failing["files integrity generic_migrations"]
    assert problem.startswith(f"{path}: changed since it was hashed")
    for key in stores:
        [problem] = failing[key]
        assert problem.startswith("0004_create_notes.json changed after it was applied")

    write_sum(project.migrations_dir)  # someone re-hashes the edit: the stores still know
    report = run_check(project)
    assert report.exit_code == 1
    assert list(_failing(report)) == stores


def test_unreadable_generic_file_is_bad_input(project: Config) -> None:
    path = project.migrations_dir / "0006_rename_note_body.json"
    path.write_text(path.read_text()[:-20])
    report = run_check(project)
    assert (report.bad_input, report.exit_code) == (True, 2)
    [problem] = _failing(report)["files integrity generic_migrations"]
    assert problem.startswith(f"{path}: ")
    assert "not valid JSON" in problem
    assert report.skipped == [
        "capture completeness: the generic migrations could not be read or replayed"
    ]


def test_leftover_and_missing_tables_after_pre_phase_only(tmp_path: Path) -> None:
    """Without Postgres: a table dropped in a post migration not yet applied is reported as
    left in each store; a table created after the last apply is missing."""
    extra = TableRef(name="labels")
    migrations = [
        *history(),
        Migration(
            id="0012_create_labels",
            phase="pre",
            source=Source(framework="sql", version="0012", statements=[]),
            operations=[
                CreateTable(
                    table=extra,
                    columns=[Column(name="id", type=t("int64"), nullable=False)],
                    primary_key=["id"],
                )
            ],
        ),
    ]
    config = _project(tmp_path / "app", None, migrations)
    drop = Migration(
        id="0013_drop_labels",
        phase="post",
        source=Source(framework="sql", version="0013", statements=[]),
        operations=[DropTable(table=extra)],
    )
    directory = config.migrations_dir
    later = Migration(
        id="0014_create_tags",
        phase="pre",
        source=Source(framework="sql", version="0014", statements=[]),
        operations=[
            CreateTable(
                table=TableRef(name="tags"),
                columns=[Column(name="id", type=t("int64"), nullable=False)],
                primary_key=["id"],
            )
        ],
    )
    write_project(tmp_path / "app", source_dsn=None, targets=EMBEDDED, migrations=[drop, later])
    report = run_check(config)
    assert report.skipped[0].startswith("capture completeness: no [source] dsn configured")
    assert report.exit_code == 1
    expected = {}
    for store in ("ch", "lake"):
        expected[f"{store} parity public.labels"] = [
            f"table public.labels exists in {store} but not in the generic migrations: "
            "drop it or capture it"
        ]
        expected[f"{store} parity public.tags"] = [f"table public.tags is missing in {store}"]
    assert _failing(report) == expected
    assert sorted(p.name for p in directory.glob("*.json"))[-2:] == [
        "0013_drop_labels.json",
        "0014_create_tags.json",
    ]


def test_introspection_queries_do_not_grow_with_tables(tmp_path: Path, pg_dsn: str) -> None:
    """The same number of queries per store for 3 tables and for 43."""
    small = run_check(_project(tmp_path / "small", pg_dsn, history()))
    extra = Migration(
        id="0011_create_extra",
        phase="pre",
        source=Source(
            framework="sql",
            version="0011",
            statements=[
                f"CREATE TABLE extra_{i} (id bigint PRIMARY KEY, v text)" for i in range(40)
            ],
        ),
        operations=[
            CreateTable(
                table=TableRef(name=f"extra_{i}"),
                columns=[
                    Column(name="id", type=t("int64", pg="bigint"), nullable=False),
                    Column(name="v", type=t("string", pg="text")),
                ],
                primary_key=["id"],
            )
            for i in range(40)
        ],
    )
    name = create_database()
    try:
        large = run_check(_project(tmp_path / "large", dsn_for(name), [*history(), extra]))
    finally:
        drop_database(name)
    assert (small.exit_code, large.exit_code) == (0, 0)
    assert len(large.cases) == len(small.cases) + 3 * 40
    assert small.queries == large.queries
    assert set(small.queries) == {"postgres", "ch", "lake"}
    assert small.queries["postgres"] == 2
    assert all(isinstance(n, int) and n > 0 for n in small.queries.values())
