"""IcebergTarget as the deploy engine uses it: config, state, parity columns, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gen_migrate.config import load_config
from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.dialects.iceberg.target import IcebergTarget
from gen_migrate.dialects.registry import make_target
from gen_migrate.errors import ConfigError, RefusedError, StepFailedError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, migration

pytest_plugins = ["test_iceberg_support"]

ISSUES = {"name": "issues"}
PROJECTS = {"schema": "app", "name": "projects"}


def _col(name: str, kind: str, nullable: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": {"kind": kind, **kw}, "nullable": nullable}


def _create(table: dict[str, str], *cols: dict[str, Any]) -> dict[str, Any]:
    return {
        "op": "create_table",
        "table": table,
        "columns": [_col("id", "int64", False), *cols],
        "primary_key": ["id"],
    }


HISTORY = [
    migration("001", [_create(ISSUES, _col("title", "string"), _col("n", "int32"))]),
    migration("002", [_create(PROJECTS, _col("budget", "decimal", precision=10, scale=2))]),
    migration(
        "003",
        [
            {"op": "add_column", "table": ISSUES, "column": _col("span", "interval")},
            {
                "op": "alter_column_type",
                "table": ISSUES,
                "column": "n",
                "new_type": {"kind": "int64"},
                "safety": "widening",
            },
            {
                "op": "add_column",
                "table": PROJECTS,
                "column": _col("tags", "array", element={"kind": "string"}),
            },
        ],
    ),
]


def test_live_columns_match_expected(make_target: Any) -> None:
    target = make_target(table="lake_{schema}_{table}")
    schema = Schema()
    apply(target, HISTORY, schema)
    refs = [TableRef(name="issues"), TableRef(schema="app", name="projects"), TableRef(name="gone")]
    live = target.live_columns(refs)
    assert live == target.expected_columns(schema, refs)
    assert live == {
        TableRef(name="issues"): {"id": "long", "title": "string", "n": "long", "span": "string"},
        TableRef(schema="app", name="projects"): {
            "id": "long",
            "budget": "decimal(10, 2)",
            "tags": "list<string>",
        },
    }
    assert target.live_columns([TableRef(name="issues")]).keys() == {TableRef(name="issues")}
    assert sorted(ident[-1] for ident in target.catalog.list_tables("default")) == [
        "lake_app_projects",
        "lake_public_issues",
    ]


def test_events_and_rerun(make_target: Any) -> None:
    target = make_target()
    first = apply(target, HISTORY, Schema())
    assert first == [
        "001.0:start",
        "001.0:done",
        "002.0:start",
        "002.0:done",
        "003.0:start",
        "003.0:done",
        "003.1:start",
        "003.1:done",
        "003.2:start",
        "003.2:done",
    ]
    again = apply(target, HISTORY, Schema())
    assert again == [
        "001.0:skipped",
        "002.0:skipped",
        "003.0:skipped",
        "003.1:skipped",
        "003.2:skipped",
    ]
    applied = target.applied()
    assert {k: (sorted(v.steps_done), v.complete) for k, v in applied.items()} == {
        "001": ([0], True),
        "002": ([0], True),
        "003": ([0, 1, 2], True),
    }
    assert applied["003"].checksum == HISTORY[2].checksum()


def test_changed_file_after_apply_fails_the_step(make_target: Any) -> None:
    target = make_target()
    schema = Schema()
    apply(target, HISTORY[:1], schema)
    plan = target.plan(HISTORY[0], "0" * 64, Schema())
    with pytest.raises(StepFailedError, match="001 step 0: recorded with checksum"):
        target.execute(plan)


def test_failing_step_records_nothing(make_target: Any) -> None:
    target = make_target()
    schema = Schema()
    apply(target, HISTORY[:1], schema)
    # Someone added the column by hand: the step fails, clearly, and is not recorded.
    table = target.catalog.load_table(("default", "issues"))
    from pyiceberg.types import StringType

    with table.update_schema() as update:
        update.add_column("body", StringType())
    m = migration("004", [{"op": "add_column", "table": ISSUES, "column": _col("body", "string")}])
    with pytest.raises(StepFailedError, match=r"004 step 0 \(add column issues.body\) failed"):
        target.execute(target.plan(m, m.checksum(), schema))
    assert "004" not in target.applied()


def test_refused_plan_runs_nothing(make_target: Any) -> None:
    target = make_target()
    schema = Schema()
    apply(target, HISTORY[:1], schema)
    m = migration(
        "004",
        [
            {"op": "add_column", "table": ISSUES, "column": _col("extra", "string")},
            {
                "op": "alter_column_type",
                "table": ISSUES,
                "column": "title",
                "new_type": {"kind": "int64"},
                "safety": "incompatible",
            },
        ],
    )
    plan = target.plan(m, m.checksum(), schema)
    assert [r.column for r in plan.refusals] == ["title"]
    with pytest.raises(RefusedError, match="004: refused on target ice"):
        target.execute(plan)
    assert "extra" not in target.live_columns([TableRef(name="issues")])[TableRef(name="issues")]


def test_config_from_toml_through_registry(tmp_path: Path) -> None:
    (tmp_path / "gen-migrate.toml").write_text(
        '[targets.lake]\ntype = "iceberg"\nnamespace = "analytics"\ntable = "pg_{table}"\n'
        'drop = "purge"\n[targets.lake.type_overrides]\ninterval = "long"\n'
    )
    config = load_config(tmp_path / "gen-migrate.toml")
    target = make_target("lake", config.targets["lake"], tmp_path)
    assert isinstance(target, IcebergTarget)
    with target:
        apply(target, HISTORY, Schema())
        span = target.catalog.load_table(("analytics", "pg_issues")).schema().find_field("span")
        assert str(span.field_type) == "long"
    assert (tmp_path / ".gen-migrate" / "iceberg" / "catalog.db").is_file()


def test_bad_template_and_catalog_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad template"):
        IcebergTarget("ice", IcebergTargetConfig(type="iceberg", table="{tabel}"), tmp_path)
    bad = IcebergTargetConfig(type="iceberg", catalog={"type": "nonsense"})
    with pytest.raises(ConfigError, match="iceberg catalog"):
        IcebergTarget("ice", bad, tmp_path).open()
    with pytest.raises(ConfigError, match="unknown key"):
        IcebergTarget(
            "ice", IcebergTargetConfig(type="iceberg", type_overrides={"x": "long"}), tmp_path
        )


def test_unreachable_catalog_is_a_step_failure(tmp_path: Path) -> None:
    config = IcebergTargetConfig(
        type="iceberg",
        catalog={
            "uri": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "warehouse": tmp_path.as_uri(),
        },
    )
    with pytest.raises(StepFailedError, match="cannot be opened"):
        IcebergTarget("ice", config, tmp_path).open()
