"""Data written before evolution (pyarrow append) reads correctly after each evolution (scan)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from gen_migrate.generic.schema import Schema
from test_iceberg_support import apply, migration

pytest_plugins = ["test_iceberg_support"]

T = {"name": "orders"}


def _col(name: str, kind: str, nullable: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": {"kind": kind, **kw}, "nullable": nullable}


CREATE = migration(
    "001_create",
    [
        {
            "op": "create_table",
            "table": T,
            "columns": [
                _col("id", "int64", False),
                _col("qty", "int32"),
                _col("price", "float32"),
                _col("amount", "decimal", precision=10, scale=2),
                _col("a", "string"),
                _col("b", "string"),
                _col("note", "string"),
                _col("tags", "array", element={"kind": "string"}),
            ],
            "primary_key": ["id"],
        }
    ],
)

OLD_ROWS = {
    "id": [1, 2, 3],
    "qty": [5, None, -7],
    "price": [1.5, 2.25, None],
    "amount": [Decimal("12.34"), Decimal("-0.01"), None],
    "a": ["a1", "a2", None],
    "b": ["b1", None, "b3"],
    "note": ["x", "y", "z"],
    "tags": [["p", "q"], [], None],
}


def _append(target: Any, table: str, rows: dict[str, list[Any]]) -> None:
    tbl = target.catalog.load_table(("default", table))
    arrow_schema = tbl.schema().as_arrow()
    tbl.append(pa.Table.from_pydict(rows, schema=arrow_schema))


def _scan(target: Any, table: str) -> list[dict[str, Any]]:
    tbl = target.catalog.load_table(("default", table))
    return sorted(tbl.scan().to_arrow().to_pylist(), key=lambda r: r["id"])


def test_old_data_reads_after_every_evolution(make_target: Any) -> None:
    target = make_target()
    schema = Schema()
    apply(target, [CREATE], schema)
    _append(target, "orders", OLD_ROWS)

    evolve = migration(
        "002_evolve",
        [
            {"op": "add_column", "table": T, "column": _col("status", "string")},
            {
                "op": "add_column",
                "table": T,
                "column": {**_col("version", "int32", False), "default": "1"},
            },
            {"op": "drop_column", "table": T, "column": "note"},
            {"op": "rename_column", "table": T, "column": "tags", "new_name": "labels"},
            {"op": "swap_columns", "table": T, "a": "a", "b": "b"},
            {
                "op": "alter_column_type",
                "table": T,
                "column": "qty",
                "new_type": {"kind": "int64"},
                "safety": "widening",
            },
            {
                "op": "alter_column_type",
                "table": T,
                "column": "price",
                "new_type": {"kind": "float64"},
                "safety": "widening",
            },
            {
                "op": "alter_column_type",
                "table": T,
                "column": "amount",
                "new_type": {"kind": "decimal", "precision": 20, "scale": 2},
                "safety": "widening",
            },
            {"op": "rename_table", "table": T, "new_name": "purchases"},
        ],
    )
    apply(target, [evolve], schema)

    rows = _scan(target, "purchases")
    assert rows == [
        {
            "id": 1,
            "qty": 5,
            "price": 1.5,
            "amount": Decimal("12.34"),
            "a": "b1",
            "b": "a1",
            "labels": ["p", "q"],
            "status": None,
            "version": 1,
        },
        {
            "id": 2,
            "qty": None,
            "price": 2.25,
            "amount": Decimal("-0.01"),
            "a": None,
            "b": "a2",
            "labels": [],
            "status": None,
            "version": 1,
        },
        {
            "id": 3,
            "qty": -7,
            "price": None,
            "amount": None,
            "a": "b3",
            "b": None,
            "labels": None,
            "status": None,
            "version": 1,
        },
    ]
    tbl = target.catalog.load_table(("default", "purchases"))
    assert str(tbl.schema().find_field("qty").field_type) == "long"
    assert str(tbl.schema().find_field("amount").field_type) == "decimal(20, 2)"

    # New rows with the evolved schema read next to the old ones.
    _append(
        target,
        "purchases",
        {
            "id": [4],
            "qty": [2**40],
            "price": [0.1],
            "amount": [Decimal("123456789012345678.90")],
            "a": ["new-a"],
            "b": ["new-b"],
            "labels": [["r"]],
            "status": ["open"],
            "version": [2],
        },
    )
    rows = _scan(target, "purchases")
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[3]["qty"] == 2**40
    assert rows[3]["amount"] == Decimal("123456789012345678.90")
    assert rows[0]["a"] == "b1"


def test_new_column_policy_keeps_old_values_out(make_target: Any) -> None:
    target = make_target(incompatible_type_change="new_column")
    schema = Schema()
    apply(target, [CREATE], schema)
    _append(target, "orders", OLD_ROWS)
    retype = migration(
        "002_retype",
        [
            {
                "op": "alter_column_type",
                "table": T,
                "column": "note",
                "new_type": {"kind": "int64"},
                "safety": "incompatible",
            }
        ],
    )
    apply(target, [retype], schema)
    _append(target, "orders", {**{k: [v[0]] for k, v in OLD_ROWS.items()}, "id": [9], "note": [7]})
    rows = _scan(target, "orders")
    assert [(r["id"], r["note"]) for r in rows] == [(1, None), (2, None), (3, None), (9, 7)]
    assert [r["qty"] for r in rows] == [5, None, -7, 5]
