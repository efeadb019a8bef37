"""Golden tests of the normaliser: tests/golden/normalize/<case>.sql → <case>.json.

Each case is normalised against a fresh schema; the golden holds the operations as generic JSON
and every statement's outcome (line, kind, reason). Regenerate with
``GEN_MIGRATE_UPDATE_GOLDEN=1 pytest tests/test_normalize_golden.py`` and check the diff by eye.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from gen_migrate.capture.normalize import NormalizeError, normalize_sql
from gen_migrate.generic.migration import dump_json
from gen_migrate.generic.operations import Operation
from gen_migrate.generic.schema import Schema, replay

GOLDEN = Path(__file__).parent / "golden" / "normalize"
CASES = sorted(p.stem for p in GOLDEN.glob("*.sql"))
OPS = TypeAdapter(list[Operation])


def _render(case: str) -> str:
    sql = (GOLDEN / f"{case}.sql").read_text()
    result = normalize_sql(sql, Schema(), file=f"{case}.sql", on_error="collect")
    doc = {
        "operations": OPS.dump_python(
            result.operations, mode="json", by_alias=True, exclude_none=True
        ),
        "outcomes": [{"line": o.line, "kind": o.kind, "reason": o.reason} for o in result.outcomes],
    }
    return dump_json(doc)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    got = _render(case)
    path = GOLDEN / f"{case}.json"
    if os.environ.get("GEN_MIGRATE_UPDATE_GOLDEN") == "1":
        path.write_text(got)
    assert path.exists(), f"no golden for {case}: run with GEN_MIGRATE_UPDATE_GOLDEN=1"
    assert got == path.read_text()


@pytest.mark.parametrize("case", CASES)
def test_golden_operations_replay_to_the_same_schema(case: str) -> None:
    """The folded operations, read back from JSON and replayed, give the normaliser's schema."""
    sql = (GOLDEN / f"{case}.sql").read_text()
    schema = Schema()
    result = normalize_sql(sql, schema, on_error="collect")
    ops = OPS.validate_python(json.loads(_render(case))["operations"])
    assert ops == result.operations
    assert replay([ops]).hash() == schema.hash()


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD x int'; END $$;", "dynamic SQL"),
        ("CREATE TYPE pair AS (a int, b int);\nCREATE TABLE p OF pair;", "OF a composite type"),
        ("CREATE TABLE t2 (g geometry);", "unknown type geometry"),
        ("ALTER TABLE nowhere ADD COLUMN x int;", "table public.nowhere is not known"),
        ("CREATE TABLE copy AS SELECT * FROM t;", "CREATE TABLE … AS"),
        ("ALTER TABLE t DROP COLUMN nope;", "column public.t.nope does not exist"),
        ("ALTER TABLE t ADD COLUMN x int, ADD COLUMN y nosuchtype;", "unknown type nosuchtype"),
        ("ALTER TABLE t ADD x int;\nSELECT FROM WHERE;", "does not parse"),
    ],
)
def test_errors_name_file_line_and_statement(sql: str, reason: str) -> None:
    schema = Schema()
    normalize_sql("CREATE TABLE t (id int);", schema)
    before = schema.hash()
    text = "-- leading comment\n\n" + sql
    with pytest.raises(NormalizeError) as info:
        normalize_sql(text, schema, file="m.sql", line_offset=10)
    message = info.value.message
    assert message.startswith("m.sql:"), message
    line = int(message.split(":")[1])
    assert 13 <= line <= 14
    assert reason in message
    bad_statement = text.splitlines()[line - 11]
    assert " ".join(bad_statement.split())[:40].rstrip(";") in message
    if "does not parse" not in reason:
        # a failing multi-action statement leaves nothing half-done
        assert "x" not in schema.tables[next(iter(schema.tables))].columns or line == 13
    assert before == schema.hash() or "does not parse" in reason


def test_collect_mode_keeps_going_after_an_error() -> None:
    schema = Schema()
    sql = (
        "CREATE TABLE t (id int);\n"
        "DO $$ BEGIN EXECUTE 'x'; END $$;\n"
        "ALTER TABLE t ADD COLUMN x int;\n"
    )
    result = normalize_sql(sql, schema, on_error="collect")
    assert [o.kind for o in result.outcomes] == ["normalized", "error", "normalized"]
    assert [o.line for o in result.outcomes] == [1, 2, 3]
    assert list(schema.table(next(iter(schema.tables))).columns) == ["id", "x"]
    assert result.statements == ["CREATE TABLE t (id int)", "ALTER TABLE t ADD COLUMN x int"]


def test_line_numbers_with_non_ascii_text() -> None:
    sql = (
        '-- é\nCREATE TABLE "tâble" (nom text DEFAULT \'café\');\n\nALTER TABLE "tâble" ADD c int;'
    )
    result = normalize_sql(sql, Schema())
    assert [o.line for o in result.outcomes] == [2, 4]
    create = result.operations[0]
    assert create.op == "create_table"
    assert create.columns[0].default == "'café'"


def test_broken_statement_psql_lines_and_copy_data_cost_only_themselves() -> None:
    sql = (
        "CREATE TABLE t (a int);\n"  # 1
        "\\set x 1\n"  # 2
        "COPY t FROM stdin;\n"  # 3
        "1\n2;\n"  # 4-5
        "\\.\n"  # 6
        "ALTER TABLE t ADD b int;\n"  # 7
        "SELECT FROM WHERE;\n"  # 8
        "-- comment\nALTER TABLE t ADD c int;\n"  # 9-10
    )
    schema = Schema()
    result = normalize_sql(sql, schema, file="f.sql", on_error="collect")
    got = [(o.line, o.kind) for o in result.outcomes]
    assert got == [
        (1, "normalized"),
        (3, "skipped"),
        (7, "normalized"),
        (8, "error"),
        (10, "normalized"),
    ]
    assert "does not parse" in result.outcomes[3].reason
    assert list(schema.tables[next(iter(schema.tables))].columns) == ["a", "b", "c"]


def test_serial_default_names_the_sequence_as_postgres_does(pg_dsn: str) -> None:
    import psycopg

    long_table = "t" * 40
    long_column = "c" * 40
    sql = f'CREATE TABLE {long_table} ({long_column} serial, "Id" bigserial);'
    schema = Schema()
    normalize_sql(sql, schema)
    columns = schema.tables[next(iter(schema.tables))].columns
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql)
        rows = conn.execute(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
            " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
            f" WHERE d.adrelid = '{long_table}'::regclass"
        ).fetchall()
    assert {name: columns[name].default for name, _ in rows} == dict(rows)


@pytest.mark.parametrize("case", CASES)
def test_golden_sql_on_real_postgres_gives_the_normalised_schema(case: str, pg_dsn: str) -> None:
    """Run each statement the normaliser did not refuse on the real Postgres; the catalog must
    then hold exactly the normaliser's tables, columns, generic types and nullability."""
    import psycopg

    from gen_migrate.capture.catalog import introspect_schema
    from gen_migrate.generic.compare import diff_schemas

    sql = (GOLDEN / f"{case}.sql").read_text()
    schema = Schema()
    result = normalize_sql(sql, schema, on_error="collect")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for outcome in result.outcomes:
            if outcome.kind == "error" or outcome.reason == "transaction control":
                continue
            try:
                conn.execute(outcome.statement)  # type: ignore[arg-type]
            except psycopg.Error as exc:
                assert outcome.kind == "skipped", f"line {outcome.line}: {exc}"
        schemas = sorted({ref.schema for ref in schema.tables} | {"public"})
        catalog = introspect_schema(conn, schemas)
    assert diff_schemas(schema, catalog) == []
    assert sorted(map(str, catalog.tables)) == sorted(map(str, schema.tables))
