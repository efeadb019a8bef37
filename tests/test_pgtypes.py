"""Every generic type from its Postgres spellings, through both entry points: a column type in a
CREATE TABLE (the normaliser's path) and ``parse_type`` on text (the catalog's path)."""

from __future__ import annotations

import pytest

from gen_migrate.capture.normalize import normalize_sql
from gen_migrate.capture.pgtypes import (
    TYPE_MAPPING,
    TypeRegistry,
    UnknownTypeError,
    enum_type,
    parse_type,
)
from gen_migrate.errors import InputError
from gen_migrate.generic.operations import TableRef
from gen_migrate.generic.schema import Schema
from gen_migrate.generic.types import GenericType, t

MOOD = enum_type(TableRef(name="mood"), ("sad", "ok"))
LEVEL = enum_type(TableRef(schema="app", name="level"), ("low", "high"))
USER_TYPES = {
    TableRef(name="mood"): MOOD,
    TableRef(schema="app", name="level"): LEVEL,
    TableRef(name="email"): t("string", max_length=320, pg="character varying(320)"),
    TableRef(name="tags"): t("array", element=t("string", pg="text"), pg="text[]"),
}


def _arr(el: GenericType) -> GenericType:
    return t("array", element=el, pg=f"{el.pg}[]")


SPELLINGS: list[tuple[list[str], GenericType]] = [
    (["boolean", "bool"], t("bool", pg="boolean")),
    (["smallint", "int2"], t("int16", pg="smallint")),
    (["smallserial", "serial2"], t("int16", pg="smallint")),
    (["integer", "int", "int4", "pg_catalog.int4"], t("int32", pg="integer")),
    (["serial", "serial4"], t("int32", pg="integer")),
    (["bigint", "int8"], t("int64", pg="bigint")),
    (["bigserial", "serial8"], t("int64", pg="bigint")),
    (["real", "float4", "float(10)"], t("float32", pg="real")),
    (["double precision", "float8", "float", "float(30)"], t("float64", pg="double precision")),
    (["numeric", "decimal"], t("decimal", pg="numeric")),
    (
        ["numeric(12,2)", "decimal(12, 2)", "dec(12,2)"],
        t("decimal", precision=12, scale=2, pg="numeric(12,2)"),
    ),
    (["numeric(7)"], t("decimal", precision=7, scale=0, pg="numeric(7,0)")),
    (["text"], t("string", pg="text")),
    (["citext"], t("string", pg="citext")),
    (["varchar", "character varying"], t("string", pg="character varying")),
    (
        ["varchar(255)", "character varying(255)"],
        t("string", max_length=255, pg="character varying(255)"),
    ),
    (["char(3)", "character(3)", "bpchar(3)"], t("string", max_length=3, pg="character(3)")),
    (["bytea"], t("bytes", pg="bytea")),
    (["uuid"], t("uuid", pg="uuid")),
    (["date"], t("date", pg="date")),
    (["time", "time without time zone"], t("time", pg="time without time zone")),
    (["time(3)"], t("time", precision=3, pg="time(3) without time zone")),
    (["timetz", "time with time zone"], t("timetz", pg="time with time zone")),
    (
        ["timestamp", "timestamp without time zone"],
        t("timestamp", pg="timestamp without time zone"),
    ),
    (
        ["timestamp(6) without time zone"],
        t("timestamp", precision=6, pg="timestamp(6) without time zone"),
    ),
    (["timestamptz", "timestamp with time zone"], t("timestamptz", pg="timestamp with time zone")),
    (
        ["timestamp(3) with time zone", "timestamptz(3)"],
        t("timestamptz", precision=3, pg="timestamp(3) with time zone"),
    ),
    (["interval"], t("interval", pg="interval")),
    (["interval day to second(3)"], t("interval", pg="interval day to second(3)")),
    (["json"], t("json", pg="json")),
    (["jsonb"], t("json", pg="jsonb")),
    (["inet"], t("string", pg="inet")),
    (["tsvector"], t("string", pg="tsvector")),
    (["bit varying(8)", "varbit(8)"], t("string", pg="bit varying(8)")),
    (["oid"], t("int64", pg="oid")),
    (["text[]", "text ARRAY", "text[3]"], _arr(t("string", pg="text"))),
    (["bigint[]", "bigint[][]", "int8[]"], _arr(t("int64", pg="bigint"))),
    (
        ["character varying(255)[]", "varchar(255)[]"],
        _arr(t("string", max_length=255, pg="character varying(255)")),
    ),
    (
        ["timestamp(3) with time zone[]"],
        _arr(t("timestamptz", precision=3, pg="timestamp(3) with time zone")),
    ),
    (["mood", "public.mood"], MOOD),
    (["mood[]"], _arr(MOOD)),
    (["app.level"], LEVEL),
    (["email", "public.email"], t("string", max_length=320, pg="character varying(320)")),
    (["email[]"], _arr(t("string", max_length=320, pg="character varying(320)"))),
    (["tags", "tags[]"], _arr(t("string", pg="text"))),
]
CASES = [(spelled, want) for names, want in SPELLINGS for spelled in names]


def _exact(got: GenericType, want: GenericType) -> None:
    assert got.model_dump() == want.model_dump()


@pytest.mark.parametrize(("spelled", "want"), CASES, ids=[c[0] for c in CASES])
def test_parse_type(spelled: str, want: GenericType) -> None:
    _exact(parse_type(spelled, TypeRegistry(USER_TYPES)), want)


@pytest.mark.parametrize(("spelled", "want"), CASES, ids=[c[0] for c in CASES])
def test_column_type_in_create_table(spelled: str, want: GenericType) -> None:
    schema = Schema(types=dict(USER_TYPES))
    result = normalize_sql(f"CREATE TABLE x (c {spelled});", schema)
    _exact(schema.table(TableRef(name="x")).column("c").type, want)
    assert result.operations[0].op == "create_table"


def test_pg_spelling_round_trips_through_parse_type() -> None:
    registry = TypeRegistry(USER_TYPES)
    for _, want in SPELLINGS:
        assert want.pg is not None
        _exact(parse_type(want.pg, registry), want)


def test_overrides_from_config_win() -> None:
    registry = TypeRegistry(
        overrides={"hstore": "json", "public.ltree": "string", "money": "decimal"}
    )
    _exact(parse_type("hstore", registry), t("json", pg="hstore"))
    _exact(parse_type("ltree", registry), t("string", pg="ltree"))
    _exact(parse_type("money", registry), t("decimal", pg="money"))


def test_unknown_type_says_how_to_declare_it() -> None:
    with pytest.raises(UnknownTypeError, match=r'\[types\] "geometry" = "string"'):
        parse_type("geometry", TypeRegistry())
    with pytest.raises(UnknownTypeError, match="cannot read type"):
        parse_type("not a type at all (", TypeRegistry())


def test_bad_override_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not a generic kind"):
        TypeRegistry(overrides={"x": "strnig"})


def test_every_mapped_name_has_its_kind_and_spelling() -> None:
    registry = TypeRegistry()
    for name, (kind, spelled) in TYPE_MAPPING.items():
        got = parse_type('"char"' if name == "char" else name, registry)
        assert got.kind is kind, name
        # the keyword BIT alone means bit(1); bpchar unqualified has no length
        assert got.pg == {"bpchar": "bpchar", "bit": "bit(1)"}.get(name, spelled), name


def test_pg_spelling_is_what_format_type_prints(pg_dsn: str) -> None:
    """On the real Postgres: every spelling above (domains aside: a column of a domain keeps the
    domain's name in the catalog) gets the ``pg`` Postgres itself prints for the column."""
    import psycopg

    cases = [
        (spelled, want)
        for spelled, want in CASES
        if spelled.split("[")[0] not in ("email", "public.email", "tags", "citext")
    ]
    columns = ", ".join(f"c{i} {spelled}" for i, (spelled, _) in enumerate(cases))
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TYPE app.level AS ENUM ('low', 'high')")
        conn.execute(f"CREATE TABLE x ({columns})")
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'x'::regclass AND attnum > 0 ORDER BY attnum"
        ).fetchall()
    printed = dict(rows)
    mismatches = [
        (spelled, want.pg, printed[f"c{i}"])
        for i, (spelled, want) in enumerate(cases)
        if want.pg != printed[f"c{i}"]
    ]
    assert not mismatches
