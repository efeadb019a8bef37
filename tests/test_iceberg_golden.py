"""Golden tests per operation: generic JSON → the rendered pyiceberg update → the applied schema.

Each ``tests/golden/iceberg/<case>.input.json`` holds optional target ``config``, ``setup``
migrations and the ``operations`` under test. ``<case>.plan.json`` is the expected plan;
``<case>.schema.txt`` the namespace after applying it on a real catalog (the same text on the
SQLite and the Postgres-backed catalog). ``GEN_MIGRATE_UPDATE_GOLDEN=1`` rewrites them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gen_migrate.dialects.iceberg.translate import Policy, translate
from gen_migrate.dialects.iceberg.types import type_map
from gen_migrate.errors import RefusedError
from gen_migrate.generic.migration import dump_json
from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, migration

pytest_plugins = ["test_iceberg_support"]

GOLDEN = Path(__file__).parent / "golden" / "iceberg"
CASES = sorted(p.name.removesuffix(".input.json") for p in GOLDEN.glob("*.input.json"))
UPDATE = os.environ.get("GEN_MIGRATE_UPDATE_GOLDEN") == "1"


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{name}.input.json").read_text())
    return data


def _setup(case: dict[str, Any]) -> list[Any]:
    return [migration(f"setup{i}", ops) for i, ops in enumerate(case.get("setup", []))]


def _compare(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden {path.name} (run with GEN_MIGRATE_UPDATE_GOLDEN=1)"
    assert text == path.read_text()


def _policy(config: dict[str, Any]) -> Policy:
    return Policy(
        table_template=config.get("table", "{table}"),
        type_map=type_map(config.get("type_overrides")),
        purge=config.get("drop") == "purge",
        incompatible_type_change=config.get("incompatible_type_change", "refuse"),
        set_not_null=config.get("set_not_null", "refuse"),
    )


def test_cases_exist() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_plan_golden(name: str) -> None:
    case = _case(name)
    before = Schema()
    for m in _setup(case):
        before.apply_all(m.operations)
    m = migration("m1", case["operations"])
    plan = translate(m, m.checksum(), before, _policy(case.get("config", {})))
    _compare(GOLDEN / f"{name}.plan.json", dump_json(plan.to_dict()))


def _namespace_text(target: Any) -> str:
    lines = []
    catalog = target.catalog
    for ident in sorted(catalog.list_tables(target.config.namespace)):
        table = catalog.load_table(ident)
        ids = sorted(table.schema().identifier_field_names())
        lines.append(f"{'.'.join(ident)} identifier={ids}")
        lines.append(str(table.schema()))
        for field in table.schema().fields:
            if field.initial_default is not None:
                lines.append(f"  {field.name} initial_default={field.initial_default!r}")
    applied = target.applied()
    for mid in sorted(applied):
        am = applied[mid]
        lines.append(f"applied {mid} steps={sorted(am.steps_done)} complete={am.complete}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", CASES)
def test_applied_schema_golden(name: str, make_target: Any) -> None:
    case = _case(name)
    target = make_target(**case.get("config", {}))
    schema = Schema()
    apply(target, _setup(case), schema)
    m = migration("m1", case["operations"])
    plan = target.plan(m, m.checksum(), schema)
    text = ""
    if plan.refusals:
        with pytest.raises(RefusedError):
            target.execute(plan)
        text = "".join(f"refused {r}\n" for r in plan.refusals)
    else:
        target.execute(plan)
    text += _namespace_text(target)
    _compare(GOLDEN / f"{name}.schema.txt", text)
    # A rerun finds every step recorded and changes nothing.
    if not plan.refusals:
        events: list[str] = []
        target.execute(plan, lambda step, ev: events.append(ev))
        assert set(events) <= {"skipped"}
        assert _namespace_text(target) == text
