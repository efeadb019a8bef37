"""The generic model: types, safety classes, operations, migration file format."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gen_migrate.errors import InputError
from gen_migrate.generic.files import parse_migration
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import AddColumn, Column, DropColumn, TableRef
from gen_migrate.generic.safety import Safety, classify
from gen_migrate.generic.types import GenericType, t


def _mig(**kw: object) -> Migration:
    base: dict[str, object] = {
        "id": "20250101000000_x",
        "source": Source(framework="sql", version="20250101000000"),
    }
    base.update(kw)
    return Migration.model_validate(base)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (t("int32"), t("int64"), Safety.WIDENING),
        (t("int64"), t("int32"), Safety.NARROWING),
        (t("int16"), t("float32"), Safety.LOSSLESS),
        (t("int64"), t("float64"), Safety.NARROWING),
        (t("float32"), t("float64"), Safety.WIDENING),
        (t("float64"), t("int64"), Safety.INCOMPATIBLE),
        (t("decimal", precision=10, scale=2), t("decimal", precision=12, scale=2), Safety.WIDENING),
        (
            t("decimal", precision=12, scale=2),
            t("decimal", precision=10, scale=2),
            Safety.NARROWING,
        ),
        (t("decimal", precision=12, scale=2), t("decimal"), Safety.WIDENING),
        (t("string", max_length=50), t("string"), Safety.WIDENING),
        (t("string", max_length=50), t("string", max_length=20), Safety.NARROWING),
        (t("string"), t("int64"), Safety.INCOMPATIBLE),
        (t("int64"), t("string"), Safety.LOSSLESS),
        (t("timestamp", precision=3), t("timestamp", precision=6), Safety.WIDENING),
        (t("timestamp"), t("timestamp", precision=3), Safety.NARROWING),
        (t("timestamp"), t("timestamptz"), Safety.INCOMPATIBLE),
        (t("date"), t("timestamptz"), Safety.WIDENING),
        (
            t("enum", name="m", values=("a",)),
            t("enum", name="m", values=("a", "b")),
            Safety.WIDENING,
        ),
        (
            t("enum", name="m", values=("a", "b")),
            t("enum", name="m", values=("a",)),
            Safety.INCOMPATIBLE,
        ),
        (t("array", element=t("int32")), t("array", element=t("int64")), Safety.WIDENING),
        (t("json"), t("int32"), Safety.INCOMPATIBLE),
    ],
)
def test_safety_classes(old: GenericType, new: GenericType, expected: Safety) -> None:
    assert classify(old, new) is expected


def test_type_fields_must_fit_kind() -> None:
    with pytest.raises(ValidationError, match="'element' only applies"):
        t("string", element=t("int32"))
    with pytest.raises(ValidationError, match="needs 'element'"):
        t("array")
    with pytest.raises(ValidationError, match="does not apply"):
        t("int32", precision=3)


def test_pg_spelling_is_ignored_in_comparisons() -> None:
    assert t("int32", pg="integer").same(t("int32", pg="int4"))
    assert not t("int32").same(t("int64"))


def test_canonical_json_is_deterministic_and_sorted() -> None:
    op = AddColumn(
        table=TableRef(name="issues"),
        column=Column(name="title", type=t("string", pg="text"), nullable=True),
    )
    text = _mig(operations=[op]).to_json()
    assert text.endswith("}\n")
    assert text == _mig(operations=[op]).to_json()
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["operations"][0]["table"] == {"name": "issues", "schema": "public"}
    assert '  "format": 1,' in text
    # Round trip: parsing the canonical text gives an equal model and the same text back.
    again = parse_migration(text.encode(), "x.json")
    assert again == _mig(operations=[op])
    assert again.to_json() == text


def test_unknown_future_format_is_refused_with_version_hint() -> None:
    raw = json.dumps({"format": 2, "id": "a", "source": {"framework": "sql", "version": "1"}})
    with pytest.raises(
        InputError, match=r"x.json: \$\.format: file format 2 is newer.*reads format 1"
    ):
        parse_migration(raw.encode(), "x.json")


def test_unknown_operation_names_json_path() -> None:
    raw = {
        "format": 1,
        "id": "a",
        "source": {"framework": "sql", "version": "1"},
        "operations": [
            {"op": "drop_column", "table": {"name": "t"}, "column": "c"},
            {"op": "explode_table", "table": {"name": "t"}},
        ],
    }
    with pytest.raises(InputError, match=r"x.json: \$\.operations\[1\]"):
        parse_migration(json.dumps(raw).encode(), "x.json")


def test_invalid_json_names_line() -> None:
    with pytest.raises(InputError, match=r"x.json:3: not valid JSON"):
        parse_migration(b'{\n "format": 1,\n oops\n}', "x.json")


def test_drop_column_carries_old_type() -> None:
    op = DropColumn(table=TableRef(schema="app", name="t"), column="c", type=t("uuid"))
    dumped = op.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped == {
        "op": "drop_column",
        "table": {"schema": "app", "name": "t"},
        "column": "c",
        "type": {"kind": "uuid"},
    }
