"""Two deployers at the same moment, and killed applies finished by a rerun (real processes).

Run as a script, this module is the deployer: it opens an :class:`IcebergTarget`, plans and
executes every migration of a JSON file in order (no lock, no skipping by ``applied()``: the
target's own state must keep it right) and prints its step events as JSON. Fault injection kills
the process with SIGKILL at a chosen step event or inside the catalog commit, right after the new
metadata file is written and before the catalog points at it.

Every outcome is compared with a reference run of the same migrations in one process: same
tables, schemas (with field ids), identifier fields, number of metadata versions (each change
committed exactly once) and recorded state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gen_migrate.dialects.iceberg.state import state_properties
from gen_migrate.dialects.iceberg.target import IcebergTarget
from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, catalog_config, migration

pytest_plugins = ["test_iceberg_support"]

HERE = Path(__file__).resolve()
SRC = HERE.parent.parent / "src"
T = {"name": "issues"}
U = {"name": "notes"}


def _col(name: str, kind: str, nullable: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": {"kind": kind, **kw}, "nullable": nullable}


MIGRATIONS: list[dict[str, Any]] = [
    {
        "id": "001_create_issues",
        "operations": [
            {
                "op": "create_table",
                "table": T,
                "columns": [
                    _col("id", "int64", False),
                    _col("a", "string"),
                    _col("b", "string"),
                    _col("n", "int32"),
                ],
                "primary_key": ["id"],
            }
        ],
    },
    {
        "id": "002_add",
        "operations": [
            {"op": "add_column", "table": T, "column": _col("title", "string")},
            {"op": "add_column", "table": T, "column": _col("score", "float32")},
        ],
    },
    {"id": "003_swap", "operations": [{"op": "swap_columns", "table": T, "a": "a", "b": "b"}]},
    {
        "id": "004_widen",
        "operations": [
            {
                "op": "alter_column_type",
                "table": T,
                "column": "n",
                "new_type": {"kind": "int64"},
                "safety": "widening",
            },
            {
                "op": "alter_column_type",
                "table": T,
                "column": "score",
                "new_type": {"kind": "float64"},
                "safety": "widening",
            },
        ],
    },
    {
        "id": "005_rename",
        "operations": [
            {"op": "rename_column", "table": T, "column": "title", "new_name": "subject"},
            {"op": "drop_column", "table": T, "column": "b"},
        ],
    },
    {
        "id": "006_notes",
        "operations": [
            {
                "op": "create_table",
                "table": U,
                "columns": [_col("id", "int64", False), _col("body", "string")],
                "primary_key": ["id"],
            },
            {"op": "rename_table", "table": T, "new_name": "tickets"},
        ],
    },
    {
        "id": "007_default",
        "operations": [{"op": "set_default", "table": U, "column": "body", "default": "''"}],
    },
    {
        "id": "008_more",
        "operations": [
            {"op": "add_column", "table": {"name": "tickets"}, "column": _col("state", "int16")},
            {"op": "drop_table", "table": U},
        ],
    },
]


def _migrations() -> list[Any]:
    return [migration(m["id"], m["operations"]) for m in MIGRATIONS]


def _worker(spec: dict[str, Any]) -> int:
    """The deployer process."""
    from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
    from gen_migrate.errors import GenMigrateError

    config = IcebergTargetConfig.model_validate(spec["config"])
    target = IcebergTarget("ice", config, Path(spec["root"]))
    events: list[str] = []
    kill_at = spec.get("kill_at")
    kill_in_commit = spec.get("kill_in_commit")

    def on_step(step: Any, event: str) -> None:
        tag = f"{step.migration_id}.{step.index}:{event}"
        events.append(tag)
        if tag == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    try:
        target.open()
        if kill_in_commit is not None:
            writes = [0]
            original = target.catalog._write_metadata

            def write_then_die(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                writes[0] += 1
                if writes[0] == kill_in_commit:
                    os.kill(os.getpid(), signal.SIGKILL)
                return result

            target.catalog._write_metadata = write_then_die
        if "start_at" in spec:
            time.sleep(max(0.0, spec["start_at"] - time.time()))
        schema = Schema()
        for m in _migrations():
            plan = target.plan(m, m.checksum(), schema)
            target.execute(plan, on_step)
            schema.apply_all(m.operations)
    except GenMigrateError as exc:
        print(json.dumps({"error": exc.message, "events": events}))
        return exc.exit_code
    finally:
        target.close()
    print(json.dumps({"events": events}))
    return 0


def _spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{HERE.parent}"}
    return subprocess.Popen(
        [sys.executable, str(HERE), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _snapshot(target: IcebergTarget) -> dict[str, Any]:
    """Everything a correct, exactly-once apply determines."""
    catalog = target.catalog
    ns = target.config.namespace
    tables = {}
    for ident in sorted(catalog.list_tables(ns)):
        meta = catalog.load_table(ident).metadata
        tables[ident[-1]] = {
            "schema": str(meta.schema()),
            "identifier": sorted(meta.schema().identifier_field_names()),
            "versions": len(meta.metadata_log) + 1,
            "schemas": len(meta.schemas),
            "state": state_properties(meta.properties),
        }
    return {
        "tables": tables,
        "namespace": state_properties(catalog.load_namespace_properties(ns)),
        "applied": {
            k: (v.checksum, sorted(v.steps_done), v.complete) for k, v in target.applied().items()
        },
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The outcome of one uninterrupted run in one process."""
    root = tmp_path_factory.mktemp("reference")
    target = IcebergTarget("ice", catalog_config("sqlite", root, None), root)
    with target:
        apply(target, _migrations(), Schema())
        return _snapshot(target)


def _spec(catalog_kind: str, tmp_path: Path, dsn: str | None, **extra: Any) -> dict[str, Any]:
    config = catalog_config(catalog_kind, tmp_path, dsn)
    return {"config": config.model_dump(), "root": str(tmp_path), **extra}


def _result(tmp_path: Path, catalog_kind: str, dsn: str | None) -> dict[str, Any]:
    target = IcebergTarget("ice", catalog_config(catalog_kind, tmp_path, dsn), tmp_path)
    with target:
        return _snapshot(target)


def test_reference_run_is_complete(reference: dict[str, Any]) -> None:
    assert sorted(reference["tables"]) == ["tickets"]
    assert all(complete for _, _, complete in reference["applied"].values())
    assert len(reference["applied"]) == len(MIGRATIONS)
    # create + 2 adds + swap + 2 widenings + rename + drop + rename-table record + add
    assert reference["tables"]["tickets"]["versions"] == 10


def test_two_deployers_at_once(
    catalog_kind: str, catalog_dsn: str | None, tmp_path: Path, reference: dict[str, Any]
) -> None:
    spec = _spec(catalog_kind, tmp_path, catalog_dsn, start_at=time.time() + 4.0)
    procs = [_spawn(spec), _spawn(spec)]
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, f"stdout={out}\nstderr={err}"
    events = [json.loads(out)["events"] for out, _ in outs]
    done = [e.rsplit(":", 1)[0] for evs in events for e in evs if e.endswith(":done")]
    # Schema changes and creations: exactly one process did each.
    single = {
        "001_create_issues.0",
        "002_add.0",
        "002_add.1",
        "003_swap.0",
        "004_widen.0",
        "004_widen.1",
        "005_rename.0",
        "005_rename.1",
        "006_notes.0",
        "008_more.0",
    }
    for step in single:
        assert done.count(step) == 1, (step, events)
    assert _result(tmp_path, catalog_kind, catalog_dsn) == reference


@pytest.mark.parametrize(
    "fault",
    [
        {"kill_at": "003_swap.0:start"},
        {"kill_at": "004_widen.0:done"},
        {"kill_at": "006_notes.1:start"},
        {"kill_at": "008_more.1:start"},
        {"kill_in_commit": 1},
        {"kill_in_commit": 8},
        {"kill_in_commit": 10},
    ],
    ids=[
        "before-swap",
        "between-widenings",
        "before-rename",
        "before-drop",
        "in-create-commit",
        "in-drop-column-commit",
        "after-rename-in-record-commit",
    ],
)
def test_killed_apply_finished_by_rerun(
    fault: dict[str, Any],
    catalog_kind: str,
    catalog_dsn: str | None,
    tmp_path: Path,
    reference: dict[str, Any],
) -> None:
    killed = _spawn(_spec(catalog_kind, tmp_path, catalog_dsn, **fault))
    out, err = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, f"stdout={out}\nstderr={err}"
    assert _result(tmp_path, catalog_kind, catalog_dsn) != reference
    # The rerun: a fresh deployer (in this process) with the same migrations.
    target = IcebergTarget("ice", catalog_config(catalog_kind, tmp_path, catalog_dsn), tmp_path)
    with target:
        recorded = target.applied()
        events = apply(target, _migrations(), Schema())
    # What the killed run recorded is skipped; everything else is done now.
    skipped = {e.rsplit(":", 1)[0] for e in events if e.endswith(":skipped")}
    assert skipped == {f"{m}.{i}" for m, am in recorded.items() for i in am.steps_done}
    assert any(e.endswith(":done") for e in events)
    assert _result(tmp_path, catalog_kind, catalog_dsn) == reference


if __name__ == "__main__":
    sys.exit(_worker(json.loads(sys.argv[1])))


def test_namespace_record_written_by_another_deployer_meanwhile(
    pg_dsn: str, tmp_path: Path
) -> None:
    """Two deployers record the same migration that needs no Iceberg step, on a SQL catalog in
    Postgres. The other one's insert of the record is not committed yet when ours inserts the
    same key; it commits, and ours gets a unique violation from the catalog. Ours reads the
    namespace again, finds the record, and goes on (seen in CI as a failed deploy)."""
    import psycopg

    from gen_migrate.dialects.iceberg.apply import StepRunner
    from gen_migrate.dialects.iceberg.state import empty_key

    config = catalog_config("postgres", tmp_path, pg_dsn)
    key, checksum = empty_key("007_default"), "c" * 64
    with IcebergTarget("ice", config, tmp_path) as ours:
        namespace = ours.policy.namespace
        runner = StepRunner(ours.catalog, namespace, checksum, 0, dict)
        with psycopg.connect(pg_dsn) as theirs:
            theirs.execute(
                "INSERT INTO iceberg_namespace_properties VALUES (%s, %s, %s, %s)",
                (ours.catalog.name, namespace, key, checksum),
            )
            commit = threading.Timer(0.5, theirs.commit)
            commit.start()
            try:
                assert runner.record_empty("007_default") == "done"
            finally:
                commit.join()
        props = ours.catalog.load_namespace_properties(namespace)
    assert props[key] == checksum
