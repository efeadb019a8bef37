"""The Postgres target on the real server: statements and state in one transaction."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from deploy_project import ISSUES, NOTES, PROJECTS, history
from gen_migrate.config import load_config
from gen_migrate.deploy.targets import resolve_targets
from gen_migrate.dialects.base import Step
from gen_migrate.dialects.postgres.config import PostgresTargetConfig
from gen_migrate.dialects.postgres.target import PostgresTarget
from gen_migrate.dialects.postgres.types import pg_type
from gen_migrate.dialects.registry import make_target
from gen_migrate.errors import InputError, StepFailedError
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.schema import Schema, replay
from gen_migrate.generic.types import t


def _target(dsn: str, tmp_path: Path, name: str = "pg") -> PostgresTarget:
    target = make_target(name, PostgresTargetConfig(type="postgres", dsn=dsn), tmp_path)
    assert isinstance(target, PostgresTarget)
    return target


def _columns(dsn: str, table: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    return [r[0] for r in rows]


def test_plan_changes_nothing_and_execute_records_each_step(pg_dsn: str, tmp_path: Path) -> None:
    migrations = history()
    with _target(pg_dsn, tmp_path) as target:
        assert target.applied() == {}
        plan = target.plan(migrations[0], "c0", Schema())
        assert [s.statements for s in plan.steps] == [list(migrations[0].source.statements)]
        assert _columns(pg_dsn, "projects") == []
        events: list[tuple[int, str]] = []

        def on_step(step: Step, state: str) -> None:
            events.append((step.index, state))

        target.execute(plan, on_step)
        assert events == [(0, "start"), (0, "done")]
        assert _columns(pg_dsn, "projects") == ["id", "name"]
        applied = target.applied()
        assert set(applied) == {migrations[0].id}
        assert applied[migrations[0].id].checksum == "c0"
        assert applied[migrations[0].id].complete
        events.clear()
        target.execute(plan, on_step)
        assert events == [(0, "skipped")]


def test_failed_statement_rolls_back_the_whole_migration(pg_dsn: str, tmp_path: Path) -> None:
    bad = Migration(
        id="0001_half",
        source=Source(
            framework="sql",
            version="0001",
            statements=["CREATE TABLE a (id int)", "ALTER TABLE nope ADD COLUMN x int"],
        ),
    )
    with _target(pg_dsn, tmp_path) as target:
        with pytest.raises(StepFailedError, match=r"target pg: migration 0001_half: statement 2"):
            target.execute(target.plan(bad, "c", Schema()))
        assert target.applied() == {}
    assert _columns(pg_dsn, "a") == []


def test_statements_that_cannot_run_in_a_transaction_are_refused(
    pg_dsn: str, tmp_path: Path
) -> None:
    m = Migration(
        id="0001_idx",
        source=Source(
            framework="sql",
            version="0001",
            file="db/0001.sql",
            statements=["CREATE INDEX CONCURRENTLY i ON t (x)"],
        ),
    )
    with _target(pg_dsn, tmp_path) as target:
        plan = target.plan(m, "c", Schema())
    assert [r.reason for r in plan.refusals] == [
        "cannot run inside a transaction: CREATE INDEX CONCURRENTLY i ON t (x)"
    ]
    assert plan.refusals[0].table == "db/0001.sql"


def test_state_is_per_target_name(pg_dsn: str, tmp_path: Path) -> None:
    m = Migration(id="0001_empty", source=Source(framework="sql", version="1"))
    with _target(pg_dsn, tmp_path, "one") as one:
        plan = one.plan(m, "c", Schema())
        assert plan.steps[0].title == "record only (no statements)"
        one.execute(plan)
        assert set(one.applied()) == {"0001_empty"}
    with _target(pg_dsn, tmp_path, "two") as two:
        assert two.applied() == {}


def test_live_and_expected_columns_agree_after_the_history(pg_dsn: str, tmp_path: Path) -> None:
    migrations = history()
    schema = replay(m.operations for m in migrations)
    with _target(pg_dsn, tmp_path) as target:
        before = Schema()
        for m in migrations:
            target.execute(target.plan(m, m.checksum(), before))
            before.apply_all(m.operations)
        refs = [ISSUES, NOTES, PROJECTS]
        live = target.live_columns(refs)
        assert live == target.expected_columns(schema, refs)
        assert live[ISSUES] == {
            "id": "bigint",
            "project_id": "bigint",
            "title": "text",
            "weight": "bigint",
        }
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute("ALTER TABLE notes ADD COLUMN extra int")
        assert target.live_columns(refs)[NOTES]["extra"] == "integer"
        assert target.live_columns([]) == {}


@pytest.mark.parametrize(
    ("generic", "spelling"),
    [
        (t("decimal", precision=12, scale=2), "numeric(12,2)"),
        (t("string", max_length=40), "character varying(40)"),
        (t("timestamptz", precision=3), "timestamp(3) with time zone"),
        (t("array", element=t("int32")), "integer[]"),
        (t("json"), "jsonb"),
    ],
)
def test_type_spelling_matches_format_type(pg_dsn: str, generic: object, spelling: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE x (c {spelling})".encode())
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'x'::regclass AND attname = 'c'"
        ).fetchone()
    assert row is not None
    assert pg_type(generic) == row[0] == spelling  # type: ignore[arg-type]


def test_sql_first_target_defaults_to_the_source_dsn(tmp_path: Path) -> None:
    (tmp_path / "gen-migrate.toml").write_text('[source]\ndsn = "postgresql://h/app"\n')
    config = load_config(cwd=tmp_path)
    [(name, tc)] = resolve_targets(config, ["postgres"])
    assert (name, tc.type, tc.dsn) == ("postgres", "postgres", "postgresql://h/app")
    with pytest.raises(InputError, match=r"target nope: not configured"):
        resolve_targets(config, ["nope"])
    (tmp_path / "gen-migrate.toml").write_text("")
    with pytest.raises(InputError, match=r"target postgres: postgres target needs a dsn"):
        resolve_targets(load_config(cwd=tmp_path), ["postgres"])
