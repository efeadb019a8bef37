"""The Iceberg type map (dialects/iceberg.toml), default literals, and the state encoding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gen_migrate.dialects.iceberg.state import collect, step_key, step_value
from gen_migrate.dialects.iceberg.translate import literal_default
from gen_migrate.dialects.iceberg.types import (
    default_type_map,
    iceberg_type,
    normalize,
    parse_type,
    promotion_refusal,
    type_map,
)
from gen_migrate.errors import ConfigError
from gen_migrate.generic.types import TypeKind, t


@pytest.mark.parametrize(
    ("generic", "expected"),
    [
        (t("bool"), "boolean"),
        (t("int16"), "int"),
        (t("int32"), "int"),
        (t("int64"), "long"),
        (t("float32"), "float"),
        (t("float64"), "double"),
        (t("decimal", precision=12, scale=2), "decimal(12, 2)"),
        (t("decimal", precision=38, scale=0), "decimal(38, 0)"),
        (t("decimal", precision=39, scale=2), "string"),
        (t("decimal"), "string"),
        (t("string", max_length=20), "string"),
        (t("bytes"), "binary"),
        (t("uuid"), "uuid"),
        (t("date"), "date"),
        (t("time", precision=3), "time"),
        (t("timetz"), "string"),
        (t("timestamp"), "timestamp"),
        (t("timestamptz", precision=0), "timestamptz"),
        (t("interval"), "string"),
        (t("json"), "string"),
        (t("enum", values=("a", "b"), name="e"), "string"),
        (t("array", element=t("int64")), "list<long>"),
        (t("array", element=t("array", element=t("interval"))), "list<list<string>>"),
    ],
)
def test_default_mapping(generic: object, expected: str) -> None:
    assert iceberg_type(generic, type_map()) == expected  # type: ignore[arg-type]
    # Every mapped spelling is a real pyiceberg type and prints back the same.
    assert str(parse_type(expected)) == expected


def test_every_kind_is_mapped() -> None:
    mapping = default_type_map()
    for kind in TypeKind:
        assert kind.value in mapping


def test_overrides() -> None:
    mapping = type_map({"interval": "long", "decimal_unconstrained": "decimal(38, 10)"})
    assert iceberg_type(t("interval"), mapping) == "long"
    assert iceberg_type(t("decimal"), mapping) == "decimal(38, 10)"


def test_unknown_override_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown key 'intervall'"):
        type_map({"intervall": "string"})


def test_override_that_is_not_an_iceberg_type_is_a_config_error() -> None:
    mapping = type_map({"json": "variant"})
    with pytest.raises(ConfigError, match=r"json = 'variant'"):
        iceberg_type(t("json"), mapping)
    with pytest.raises(ConfigError, match="outside"):
        iceberg_type(t("decimal", precision=5, scale=2), type_map({"decimal": "decimal(50, 2)"}))


def test_normalize() -> None:
    assert normalize("decimal(12,2)") == "decimal(12, 2)"
    assert normalize(" list<decimal(3,1)> ") == "list<decimal(3, 1)>"
    with pytest.raises(ValueError):
        normalize("timestamp_ns")


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        ("int", "long", True),
        ("float", "double", True),
        ("decimal(10, 2)", "decimal(18, 2)", True),
        ("decimal(10, 2)", "decimal(10, 3)", False),
        ("decimal(10, 2)", "decimal(8, 2)", False),
        ("long", "int", False),
        ("double", "float", False),
        ("int", "string", False),
        ("string", "long", False),
        ("date", "timestamp", False),
    ],
)
def test_promotions(old: str, new: str, ok: bool) -> None:
    reason = promotion_refusal(old, new)
    assert (reason is None) is ok
    if not ok:
        assert old in str(reason)


@pytest.mark.parametrize(
    ("expr", "ice", "value"),
    [
        ("0", "int", 0),
        ("-12", "long", -12),
        ("'7'::integer", "int", 7),
        ("(42)", "long", 42),
        ("1.5", "double", 1.5),
        ("'12.30'::numeric", "decimal(10, 2)", Decimal("12.30")),
        ("12.3", "decimal(10, 2)", Decimal("12.30")),
        ("123456.789", "decimal(5, 2)", None),
        ("4294967296", "int", None),
        ("4294967296", "long", 4294967296),
        ("true", "boolean", True),
        ("'f'::boolean", "boolean", False),
        ("'open'::character varying", "string", "open"),
        ("'it''s'::text", "string", "it's"),
        ("'draft'::public.status", "string", "draft"),
        ("now()", "timestamptz", None),
        ("nextval('issues_id_seq'::regclass)", "long", None),
        ("gen_random_uuid()", "uuid", None),
        ("'{}'::jsonb", "string", "{}"),
        ("lower('x')", "string", None),
        (None, "string", None),
    ],
)
def test_literal_default(expr: str | None, ice: str, value: object) -> None:
    assert literal_default(expr, ice) == value


def test_state_collect_merges_tables_and_namespace() -> None:
    table = {step_key("m1", 0): step_value("c1", 2), "owner": "x"}
    archived = {step_key("m1", 1): step_value("c1", 2), step_key("m2", 0): step_value("c2", 1)}
    namespace = {"gen-migrate.empty.m3": "c3"}
    found = collect([table, archived, namespace])
    assert found["m1"].steps_done == {0, 1}
    assert found["m1"].complete
    assert found["m1"].checksum == "c1"
    assert found["m2"].complete
    assert found["m3"].complete and found["m3"].steps_done == set()
    partial = collect([table])
    assert partial["m1"].steps_done == {0} and not partial["m1"].complete


def test_migration_ids_with_dots() -> None:
    found = collect([{step_key("app.0003_x", 4): step_value("c", 5)}])
    assert found["app.0003_x"].steps_done == {4}
