"""Real migration histories and schema dumps (../shared/corpus) through the Iceberg dialect.

Every corpus file is normalised (capture's own normaliser), each normalised statement becomes
one migration, and the Iceberg translation must plan it without an exception: a step, a note or
a refusal naming its reason. Two whole histories are then applied on real catalogs and the
live Iceberg columns must equal what the replayed Postgres schema maps to.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS
from gen_migrate.capture.normalize import normalize_sql
from gen_migrate.dialects.iceberg.translate import Policy, translate
from gen_migrate.dialects.iceberg.types import type_map
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.schema import Schema
from test_iceberg_support import migration

pytest_plugins = ["test_iceberg_support"]

FILES = sorted(
    p.relative_to(CORPUS)
    for sub in ("migrations", "structure")
    for p in (CORPUS / sub).glob("*.sql")
)


def _migrations(rel: Path) -> list[Migration]:
    result = normalize_sql((CORPUS / rel).read_text(), Schema(), file=str(rel), on_error="collect")
    return [
        migration(f"{i:05d}_line{o.line}", [op.model_dump(by_alias=True) for op in o.operations])
        for i, o in enumerate(result.outcomes)
        if o.operations
    ]


@pytest.mark.parametrize("rel", FILES, ids=[str(p) for p in FILES])
def test_corpus_translates(rel: Path) -> None:
    policy = Policy(type_map=type_map())
    schema = Schema()
    steps = 0
    refusals: Counter[str] = Counter()
    migrations = _migrations(rel)
    assert migrations
    for m in migrations:
        plan = translate(m, m.checksum(), schema, policy)
        steps += len(plan.steps)
        for step in plan.steps:
            assert step.statements and step.guard and step.title
        for r in plan.refusals:
            assert r.table and r.reason.startswith("Iceberg cannot"), str(r)
            refusals[r.reason.split(" (")[0]] += 1
        schema.apply_all(m.operations)
    print(f"\n{rel}: {len(migrations)} migrations, {steps} steps, refusals {dict(refusals)}")
    assert steps > 0


@pytest.mark.parametrize(
    ("rel", "catalog_kind"),
    [
        (Path("migrations/supabase-auth.sql"), "sqlite"),
        (Path("migrations/supabase-auth.sql"), "postgres"),
        (Path("migrations/harbor.sql"), "sqlite"),
    ],
    ids=["supabase-auth-sqlite", "supabase-auth-postgres", "harbor-sqlite"],
)
def test_corpus_history_applies(rel: Path, catalog_kind: str, make_target: Any) -> None:
    target = make_target(incompatible_type_change="new_column", set_not_null="ignore")
    schema = Schema()
    for m in _migrations(rel):
        plan = target.plan(m, m.checksum(), schema)
        assert not plan.refusals, [str(r) for r in plan.refusals]
        target.execute(plan)
        schema.apply_all(m.operations)
    refs = list(schema.tables)
    assert target.live_columns(refs) == target.expected_columns(schema, refs)
    applied = target.applied()
    assert all(am.complete for am in applied.values())
