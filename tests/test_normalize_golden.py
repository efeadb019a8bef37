"""Golden tests of the normaliser: tests/golden/normalize/<case>.sql → <case>.json.

Each case is normalised against a fresh schema; the golden holds the operations as generic JSON
and every statement's outcome (line, kind, reason). Regenerate with
``GEN_MIGRATE_UPDATE_GOLDEN=1 pytest tests/test_normalize_golden.py`` and check the diff by eye.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


def test_statements_recognised_by_keywords_are_skipped_without_parsing() -> None:
    """A data change, function, trigger, index, comment or view is skipped by its leading
    keywords, unparsed: a syntax error in one is Postgres's to report when the migration runs.
    When another statement does not parse, every statement is parsed on its own (as before),
    so the broken ones are errors naming their lines, and an unclosed parenthesis costs only
    the text after it."""
    sql = (
        "CREATE TABLE t (id int);\n"  # 1
        "INSERT INTO t VALUES (1,;\n"  # 2
        "CREATE OR REPLACE FUNCTION f() RETURNS int AS $body$ SELECT ';' $body$ LANGUAGE sql;\n"
        "ALTER TABLE t ADD x int;\n"  # 4
        "COMMENT ON TABLE t IS E'it\\'s; fine';\n"  # 5
    )
    result = normalize_sql(sql, Schema(), on_error="collect")
    assert [(o.line, o.kind, o.reason) for o in result.outcomes] == [
        (1, "normalized", "create table public.t"),
        (2, "skipped", "data change (DML)"),
        (3, "skipped", "function"),
        (4, "normalized", "alter table public.t"),
        (5, "skipped", "comment"),
    ]
    broken = sql.replace("(1,;", "1, 2;") + "ALTER TABLE t ADD y int,;\n"
    result = normalize_sql(broken, Schema(), on_error="collect")
    assert [(o.line, o.kind) for o in result.outcomes] == [
        (1, "normalized"),
        (2, "error"),
        (3, "skipped"),
        (4, "normalized"),
        (5, "skipped"),
        (6, "error"),
    ]
    unclosed = sql + "ALTER TABLE t ADD y int,;\nALTER TABLE t ADD z int;\n"
    result = normalize_sql(unclosed, Schema(), on_error="collect")
    assert [(o.line, o.kind) for o in result.outcomes] == [(1, "normalized"), (2, "error")]
    assert "parenthesis never closed" in result.outcomes[1].reason


def test_begin_atomic_body_stays_one_statement() -> None:
    sql = (
        "CREATE TABLE t (id int);\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "ALTER TABLE t ADD x int;\n"
    )
    result = normalize_sql(sql, Schema(), on_error="collect")
    assert [(o.line, o.kind, o.reason) for o in result.outcomes] == [
        (1, "normalized", "create table public.t"),
        (2, "skipped", "function"),
        (3, "normalized", "alter table public.t"),
    ]


@pytest.mark.parametrize(
    ("create", "alter"),
    [
        ('CREATE VIEW "My View" AS SELECT 1 AS a', 'ALTER TABLE "My View" RENAME COLUMN a TO b'),
        ("CREATE OR REPLACE TEMP VIEW Vw(a) AS SELECT 1", "ALTER TABLE vw RENAME COLUMN a TO b"),
        ("CREATE RECURSIVE VIEW s . v (a) AS SELECT 1", "ALTER TABLE s.v RENAME COLUMN a TO b"),
    ],
)
def test_a_view_set_aside_unparsed_is_still_known_as_a_view(create: str, alter: str) -> None:
    result = normalize_sql(f"{create};\n{alter};\n", Schema(), on_error="collect")
    assert [(o.kind, o.reason) for o in result.outcomes] == [
        ("skipped", "view"),
        ("skipped", result.outcomes[1].reason),
    ]
    assert "is not a replicated table" in result.outcomes[1].reason


def test_primary_key_using_an_index_created_earlier_in_the_text() -> None:
    sql = (
        "CREATE TABLE u (a int, b int, c int);\n"
        "CREATE UNIQUE INDEX u_c ON u (c);\n"
        "CREATE UNIQUE INDEX u_a_b ON u (a, b);\n"
        "ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY USING INDEX u_a_b;\n"
        "ALTER TABLE u ADD CONSTRAINT u_later PRIMARY KEY USING INDEX u_later;\n"
        "CREATE UNIQUE INDEX u_later ON u (c);\n"
    )
    schema = Schema()
    result = normalize_sql(sql, schema, on_error="collect")
    assert [o.kind for o in result.outcomes] == [
        "normalized",
        "skipped",
        "skipped",
        "normalized",
        "error",
        "skipped",
    ]
    assert [(op.op, getattr(op, "column", None)) for op in result.operations[1:]] == [
        ("set_nullable", "a"),
        ("set_nullable", "b"),
    ]
    assert "index was not created in this text" in result.outcomes[4].reason


def test_constructed_operations_equal_validated_ones() -> None:
    from gen_migrate.capture.construct import construct
    from gen_migrate.generic.operations import (
        AddColumn,
        AlterColumnType,
        Column,
        CreateTable,
        TableRef,
    )
    from gen_migrate.generic.safety import classify
    from gen_migrate.generic.types import GenericType, TypeKind

    ref = TableRef(schema="s", name="t")
    old, new = GenericType(kind=TypeKind.INT32, pg="integer"), GenericType(kind=TypeKind.INT64)
    col = {"name": "c", "type": old, "nullable": False, "default": "0"}
    cases: list[tuple[type[Any], dict[str, Any]]] = [
        (Column, col),
        (AddColumn, {"table": ref, "column": Column(**col)}),
        (CreateTable, {"table": ref, "columns": [Column(**col)], "primary_key": ["c"]}),
        (CreateTable, {"table": ref, "columns": []}),
        (
            AlterColumnType,
            {
                "table": ref,
                "column": "c",
                "old_type": old,
                "new_type": new,
                "safety": classify(old, new),
            },
        ),
    ]
    for cls, fields in cases:
        built, checked = construct(cls, **fields), cls(**fields)
        assert built == checked
        assert built.model_dump_json() == checked.model_dump_json()
        assert list(dict(built)) == list(dict(checked))


@pytest.mark.parametrize(
    ("statement", "keyword", "marker"),
    [
        (
            "ALTER TABLE t ALTER c SET DEFAULT E'x\\'y' || $q$a,b$q$, ALTER d DROP DEFAULT",
            "DEFAULT",
            "E'",
        ),
        ("ALTER TABLE t ALTER d TYPE int USING (d::int + f(1, 2)) -- note", "USING", "d::"),
        (
            "ALTER TABLE t ALTER d TYPE int USING CASE WHEN d THEN 1 ELSE 0 END, ADD e int",
            "USING",
            "CASE",
        ),
        ("CREATE TABLE t (a int DEFAULT 1 -- one\n, b text)", "DEFAULT", "1"),
        ('CREATE TABLE t (a text DEFAULT "Ab"."x" NOT NULL)', "DEFAULT", '"Ab"'),
        ("CREATE TABLE t (a int GENERATED ALWAYS AS (b * 2) STORED)", "AS", "b"),
        ("CREATE TABLE t (a int DEFAULT /* c */ 2)", "DEFAULT", "2"),
        ("CREATE TABLE t (a int[] DEFAULT ARRAY[1, 2] REFERENCES u)", "DEFAULT", "ARRAY"),
    ],
)
def test_expression_text_matches_the_scanner_reading(
    statement: str, keyword: str, marker: str
) -> None:
    from gen_migrate.capture.sqltext import StatementText

    at = statement.index(marker)
    quick = StatementText(statement, True).expression_after(
        keyword, at, column_constraint=statement.startswith("CREATE")
    )
    scanned = StatementText(statement, True)._scanned_expression_after(
        keyword, at, statement.startswith("CREATE")
    )
    assert quick == scanned
    assert quick


_HEADS = ["0", "1.5", "1.", "1e5", ".5", "now()", "now ()", "f(x)", "'a'", "'a''b'", "'a\\b'"]
_HEADS += ["E'x'", "NULL", "CASE", "END", "abc$d", "abé", "x.y", '"q"', "-1", "TRUE", "a_b9"]
_TAILS = ["", ",", ", b int", ")", ";", "]", " NOT NULL", " null", " PRIMARY KEY", " ::text"]
_TAILS += [" + 1", " -- c\n,", " AT TIME ZONE 'utc'", ' COLLATE "C"', " e5", "$", " é", " 'x'"]
_TAILS += [" END", "(1)", " REFERENCES t", " CONSTRAINT c"]


@pytest.mark.parametrize("column_constraint", [True, False])
@pytest.mark.parametrize("keyword", ["DEFAULT", "USING"])
def test_single_token_expressions_read_as_the_token_walk_reads_them(
    keyword: str, column_constraint: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gen_migrate.capture import sqltext

    def read(text: str) -> str:
        return sqltext.StatementText(text, text.isascii()).expression_after(
            keyword, len("x int "), column_constraint=column_constraint
        )

    texts = [f"x int {keyword}\n {head}{tail}" for head in _HEADS for tail in _TAILS]
    quick = [read(text) for text in texts]
    answered = sum(
        sqltext._simple_expression(text, len(f"x int {keyword}"), column_constraint) is not None
        for text in texts
    )
    monkeypatch.setattr(sqltext, "_simple_expression", lambda *args: None)
    assert quick == [read(text) for text in texts]
    assert answered >= len(_HEADS) // 2 * 4  # the fast path answers the common forms
