"""Golden tests per operation: fixture migration + the shop layout → the exact plan, then the
plan applied to chdb → the expected columns and view queries. A second run changes nothing.

Regenerate with ``GEN_MIGRATE_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clickhouse_helpers import GOLDEN, load_layout, migration, snapshot, target
from gen_migrate.errors import RefusedError
from gen_migrate.generic.schema import Schema

CASES: list[tuple[str, dict[str, Any]]] = [
    ("001_create_table", {}),
    ("001_create_table", {"type_map": "siphon"}),
    ("002_drop_table", {}),
    ("003_rename_table", {}),
    ("004_add_column", {}),
    ("005_drop_column", {}),
    ("005_drop_column", {"mv_strategy": "modify_query"}),
    ("006_drop_column_where", {}),
    ("007_drop_column_key", {}),
    ("008_rename_column", {}),
    ("008_rename_column", {"mv_strategy": "exchange"}),
    ("009_swap_columns", {}),
    ("010_widen_type", {}),
    ("011_narrow_type", {}),
    ("012_set_nullable", {}),
    ("013_set_default", {}),
    ("014_define_type", {}),
    ("015_drop_dict_column", {}),
    ("016_rename_dict_column", {}),
    ("017_drop_table_dict", {}),
    ("018_narrow_type_allowed", {"allow_lossy_type_changes": True}),
    ("019_rename_then_drop", {}),
    ("020_rename_null_column", {}),
]


def case_id(stem: str, settings: dict[str, Any]) -> str:
    extra = "_".join(f"{k}-{v}" for k, v in sorted(settings.items()))
    return f"{stem}_{extra}" if extra else stem


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb')}")
    yield client
    client.close()


def plan_doc(plan: Any) -> dict[str, Any]:
    return plan.to_dict()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("stem", "settings"), CASES, ids=[case_id(*c) for c in CASES])
def test_golden_plan_and_apply(
    ch: Any, tmp_path: Path, stem: str, settings: dict[str, Any]
) -> None:
    name = case_id(stem, settings)
    db = f"gm_{name}".replace("-", "_")[:60]
    load_layout(ch, db)
    before = snapshot(ch, db)
    tg = target(ch, db, tmp_path, **settings)
    mig = migration(stem)
    plan = tg.plan(mig, mig.checksum(), Schema())
    if plan.refusals:
        with pytest.raises(RefusedError):
            tg.execute(plan)
    else:
        tg.execute(plan)
        assert tg.applied()[mig.id].complete
    after = snapshot(ch, db)
    if plan.refusals:
        assert after == before, "a refused plan must change nothing"
    rerun_events: list[str] = []
    if not plan.refusals:
        rerun = tg.plan(mig, mig.checksum(), Schema())
        tg.execute(rerun, lambda step, event: rerun_events.append(event))
        assert set(rerun_events) <= {"skipped"}
        assert snapshot(ch, db) == after
    doc = {"plan": plan_doc(plan), "after": after}
    path = GOLDEN / f"{name}.json"
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if os.environ.get("GEN_MIGRATE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"missing golden file {path}; run with GEN_MIGRATE_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text()) == doc
