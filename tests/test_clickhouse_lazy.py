"""Databases created with ``lazy_load_tables = 1``: until a query touches a table,
``system.tables`` shows it as ``TableProxy`` with empty keys. Plans on such a database must
equal the plans on the same layout loaded eagerly (keys protected, Summing targets recognised),
and ``check``'s column read must not need the tables loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clickhouse_helpers import FIXTURES, load_layout, migration, snapshot, split_sql, target
from gen_migrate.dialects.base import MigrationPlan
from gen_migrate.dialects.clickhouse.introspect import LAZY_ENGINE, load_catalog
from gen_migrate.errors import RefusedError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema

EAGER, LAZY = "gm_eager", "gm_lazy"
STEMS = sorted(p.stem for p in (FIXTURES / "migrations").glob("*.json"))


@pytest.fixture(scope="module")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


def open_client(path: Path) -> Any:
    import clickhouse_connect

    return clickhouse_connect.get_client(dsn=f"chdb://{path}")


@pytest.fixture
def reopened(chdb_path: Path) -> Iterator[Any]:
    """The shop layout in an eager and in a lazy database, then the engine reopened so no table
    of the lazy one is loaded."""
    client = open_client(chdb_path)
    load_layout(client, EAGER)
    client.command(f"DROP DATABASE IF EXISTS {LAZY} SYNC")
    client.command(f"CREATE DATABASE {LAZY} ENGINE = Atomic SETTINGS lazy_load_tables = 1")
    for stmt in split_sql((FIXTURES / "shop.sql").read_text()):
        client.command(stmt.replace("{db}", LAZY))
    client.close()
    client = open_client(chdb_path)
    yield client
    client.close()


def proxies(client: Any) -> list[str]:
    return [
        str(r[0])
        for r in client.query(
            f"SELECT name FROM system.tables WHERE database = '{LAZY}' AND engine = '{LAZY_ENGINE}'"
        ).result_rows
    ]


def spelled(plan: MigrationPlan, db: str) -> list[tuple[str, list[str], str]]:
    return [
        (s.title, [sql.replace(db, "<db>") for sql in s.statements], s.note.replace(db, "<db>"))
        for s in plan.steps
    ]


def mutations(plan: MigrationPlan) -> list[str]:
    """Statements of ``plan`` that ClickHouse runs as mutations."""
    kinds = (" UPDATE ", " DELETE ", " MATERIALIZE ")
    return [
        sql
        for s in plan.steps
        for sql in s.statements
        if sql.startswith("ALTER TABLE") and any(k in sql for k in kinds)
    ]


def plans(client: Any, root: Path, stem: str) -> dict[str, MigrationPlan]:
    mig = migration(stem)
    return {
        db: target(client, db, root).plan(mig, mig.checksum(), Schema()) for db in (EAGER, LAZY)
    }


@pytest.mark.parametrize("stem", STEMS)
def test_plan_on_a_lazy_database_equals_the_eager_plan(
    reopened: Any, tmp_path: Path, stem: str
) -> None:
    """Same steps (keys, engines and views seen through the proxies), or, when the plan needs a
    mutation, which ClickHouse refuses on a lazily loaded table, no steps and a refusal naming
    each mutation's step."""
    assert proxies(reopened), "the lazy database should start with unloaded tables"
    found = plans(reopened, tmp_path, stem)
    eager, lazy = found[EAGER], found[LAZY]
    needed = mutations(eager)
    if needed:
        assert lazy.steps == []
        reasons = [r.reason for r in lazy.refusals[len(eager.refusals) :]]
        assert len(reasons) == len(needed)
        assert all("lazy_load_tables = 1" in r for r in reasons)
        return
    assert spelled(lazy, LAZY) == spelled(eager, EAGER)
    assert [str(r) for r in lazy.refusals] == [str(r).replace(EAGER, LAZY) for r in eager.refusals]


def test_some_fixture_plans_need_mutations_and_some_do_not(reopened: Any, tmp_path: Path) -> None:
    counts = [len(mutations(plans(reopened, tmp_path, stem)[EAGER])) for stem in STEMS]
    assert any(counts) and not all(counts)


def test_a_mutation_on_a_lazily_loaded_table_is_refused_by_clickhouse(reopened: Any) -> None:
    """The engine fact the refusal rests on: once the engine is reopened, a mutation on a
    table of a lazy database fails even after the table is loaded."""
    reopened.query(f"SELECT 1 FROM {LAZY}.siphon_items WHERE 0")
    with pytest.raises(Exception, match="support mutations"):
        reopened.command(
            f"ALTER TABLE {LAZY}.siphon_items UPDATE title = title WHERE 1 "
            "SETTINGS mutations_sync = 2"
        )


def test_catalog_loads_every_proxy_in_two_more_queries(reopened: Any) -> None:
    unloaded = proxies(reopened)
    assert unloaded
    catalog = load_catalog(reopened, LAZY)
    assert catalog.queries == 5
    assert not any(t.engine == LAZY_ENGINE for t in catalog.tables.values())
    eager = load_catalog(reopened, EAGER)
    assert eager.queries == 3
    assert {n: (t.engine, t.sorting_key, t.partition_key) for n, t in catalog.tables.items()} == {
        n: (t.engine, t.sorting_key, t.partition_key) for n, t in eager.tables.items()
    }


def test_live_columns_read_without_loading_tables(reopened: Any, tmp_path: Path) -> None:
    before = proxies(reopened)
    refs = [TableRef(name=n.removeprefix("siphon_")) for n in before if n.startswith("siphon_")]
    assert refs
    columns = {db: target(reopened, db, tmp_path).live_columns(refs) for db in (EAGER, LAZY)}
    assert columns[LAZY] == columns[EAGER]
    assert proxies(reopened) == before


def lazy_snapshot(client: Any) -> dict[str, Any]:
    shot = snapshot(client, LAZY)
    shot["views"] = {k: v.replace(LAZY, "<db>") for k, v in shot["views"].items()}
    return shot


@pytest.mark.parametrize("stem", STEMS)
def test_apply_on_a_lazy_database_gives_the_eager_result_or_changes_nothing(
    reopened: Any, tmp_path: Path, stem: str
) -> None:
    """A plan the lazy database can run leaves it as the eager one; a refused one leaves it
    untouched (nothing half-done)."""
    found = plans(reopened, tmp_path, stem)
    before = lazy_snapshot(reopened)
    lazy = target(reopened, LAZY, tmp_path / "l")
    if found[LAZY].refusals:
        with pytest.raises(RefusedError):
            lazy.execute(found[LAZY])
        assert lazy_snapshot(reopened) == before
        return
    eager = target(reopened, EAGER, tmp_path / "e")
    eager.execute(found[EAGER])
    lazy.execute(found[LAZY])
    shot = snapshot(reopened, EAGER)
    shot["views"] = {k: v.replace(EAGER, "<db>") for k, v in shot["views"].items()}
    assert lazy_snapshot(reopened) == shot
