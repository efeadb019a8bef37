"""Replaying operations onto the in-memory schema; the schema hash; phase splitting."""

from __future__ import annotations

import pytest

from gen_migrate.errors import InputError
from gen_migrate.generic.migration import Migration
from gen_migrate.generic.operations import (
    AddColumn,
    AlterColumnType,
    Column,
    CreateTable,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    SetDefault,
    SetNullable,
    SwapColumns,
    TableRef,
)
from gen_migrate.generic.phase import split_by_phase
from gen_migrate.generic.safety import Safety
from gen_migrate.generic.schema import ReplayError, Schema, replay
from gen_migrate.generic.types import t

T = TableRef(name="issues")


def _create() -> CreateTable:
    return CreateTable(
        table=T,
        columns=[
            Column(name="id", type=t("int64"), nullable=False),
            Column(name="title", type=t("string")),
            Column(name="body", type=t("string", max_length=10)),
        ],
        primary_key=["id"],
    )


def test_replay_every_operation() -> None:
    s = replay(
        [
            [_create()],
            [
                AddColumn(table=T, column=Column(name="n", type=t("int32"))),
                AlterColumnType(
                    table=T,
                    column="n",
                    old_type=t("int32"),
                    new_type=t("int64"),
                    safety=Safety.WIDENING,
                ),
                SwapColumns(table=T, a="title", b="body"),
                RenameColumn(table=T, column="n", new_name="count"),
                SetNullable(table=T, column="count", nullable=False),
                SetDefault(table=T, column="count", default="0"),
                DropColumn(table=T, column="body"),
                RenameTable(table=T, new_name="tickets"),
            ],
        ]
    )
    tickets = s.table(TableRef(name="tickets"))
    assert list(tickets.columns) == ["id", "title", "count"]
    # After the swap "title" holds what was "body": string(10).
    assert tickets.columns["title"].type.same(t("string", max_length=10))
    assert tickets.columns["count"].type.same(t("int64"))
    assert tickets.columns["count"].nullable is False
    assert tickets.columns["count"].default == "0"
    assert tickets.primary_key == ["id"]


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (DropColumn(table=T, column="nope"), "column public.issues.nope does not exist"),
        (AddColumn(table=T, column=Column(name="id", type=t("bool"))), "already exists"),
        (DropTable(table=TableRef(name="other")), "table public.other does not exist"),
        (RenameColumn(table=T, column="id", new_name="title"), "title exists"),
    ],
)
def test_replay_errors_name_the_object(op: object, message: str) -> None:
    s = replay([[_create()]])
    with pytest.raises(ReplayError, match=message):
        s.apply(op)  # type: ignore[arg-type]


def test_hash_ignores_positions_and_pg_spelling() -> None:
    a = replay([[_create()]])
    b = Schema()
    cols = list(reversed(_create().columns))
    cols[0] = cols[0].model_copy(update={"type": t("string", max_length=10, pg="varchar(10)")})
    b.apply(CreateTable(table=T, columns=cols, primary_key=["id"]))
    assert a.hash() == b.hash()
    b.apply(SetNullable(table=T, column="title", nullable=False))
    assert a.hash() != b.hash()


def _m(*ops: object) -> Migration:
    return Migration.model_validate(
        {"id": "7_m", "source": {"framework": "sql", "version": "7"}, "operations": ops}
    )


def test_phase_auto_splits_mixed_migrations() -> None:
    add = AddColumn(table=T, column=Column(name="x", type=t("bool")))
    drop = DropColumn(table=T, column="body")
    assert [m.phase for m in split_by_phase(_m(add), "auto")] == ["pre"]
    assert [m.phase for m in split_by_phase(_m(drop), "auto")] == ["post"]
    pre, post = split_by_phase(_m(add, drop), "auto")
    assert (pre.id, pre.phase, [o.op for o in pre.operations]) == ("7_m", "pre", ["add_column"])
    assert (post.id, post.phase, [o.op for o in post.operations]) == (
        "7_m.post",
        "post",
        ["drop_column"],
    )
    assert [m.phase for m in split_by_phase(_m(add, drop), "pre")] == ["pre"]


def test_phase_auto_refuses_drop_then_readd() -> None:
    drop = DropColumn(table=T, column="body")
    readd = AddColumn(table=T, column=Column(name="body", type=t("json")))
    with pytest.raises(InputError, match="--phase pre"):
        split_by_phase(_m(drop, readd), "auto")
