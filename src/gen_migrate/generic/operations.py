"""Generic operations (format 1): plain data, one pydantic model per ``op``.

Operations name tables by :class:`TableRef` (schema + name, as Postgres has them). Dialects map
them to their own names; the generic model knows no dialect.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gen_migrate.generic.safety import Safety
from gen_migrate.generic.types import GenericType


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableRef(_Model):
    """A source table: Postgres schema and name."""

    # Tables are dictionary keys everywhere, so ``hash(ref)`` runs no Python code: the class's
    # ``__hash__`` is a property (C) that reads a slot holding the bound ``__index__`` of the
    # hash value (C). The slot is filled on first use by ``__getattr__``, which Python calls
    # only while it is empty (not part of the model: not copied, pickled or compared).
    __slots__ = ("_hasher",)

    schema_: str = Field(default="public", alias="schema")
    name: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    if TYPE_CHECKING:

        def __hash__(self) -> int: ...

    else:
        __hash__ = property(attrgetter("_hasher"))

        def __getattr__(self, item: str) -> Any:
            if item != "_hasher":
                return super().__getattr__(item)
            fields = self.__dict__
            hasher = hash((fields["schema_"], fields["name"])).__index__
            object.__setattr__(self, "_hasher", hasher)
            return hasher

    def __eq__(self, other: object) -> bool:
        # what BaseModel.__eq__ decides for two table references (no private or extra
        # fields), without its generic steps: equal keys that are not the same object
        if type(other) is TableRef:
            return self.__dict__ == other.__dict__
        return super().__eq__(other)

    @property
    def schema(self) -> str:  # type: ignore[override]
        """The Postgres schema (``public`` unless qualified)."""
        return self.schema_

    def qualified(self) -> str:
        """``schema.name`` as a plain string (not quoted)."""
        return f"{self.schema_}.{self.name}"

    def __str__(self) -> str:
        return f"{self.schema_}.{self.name}"


class Column(_Model):
    """A column definition as Postgres has it."""

    name: str
    type: GenericType
    nullable: bool = True
    default: str | None = Field(default=None, description="Default expression, Postgres SQL.")
    identity: Literal["always", "by_default"] | None = None
    generated: str | None = Field(
        default=None, description="Expression of a STORED generated column."
    )


class CreateTable(_Model):
    """A new table with its columns and primary key."""

    op: Literal["create_table"] = "create_table"
    table: TableRef
    columns: list[Column]
    primary_key: list[str] = Field(default_factory=list)


class DropTable(_Model):
    """The table is dropped."""

    op: Literal["drop_table"] = "drop_table"
    table: TableRef


class RenameTable(_Model):
    """The table gets a new name in the same schema."""

    op: Literal["rename_table"] = "rename_table"
    table: TableRef
    new_name: str


class AddColumn(_Model):
    """A column is appended."""

    op: Literal["add_column"] = "add_column"
    table: TableRef
    column: Column


class DropColumn(_Model):
    """A column is dropped; ``type`` is its type before the drop when known."""

    op: Literal["drop_column"] = "drop_column"
    table: TableRef
    column: str
    type: GenericType | None = None


class RenameColumn(_Model):
    """A column gets a new name."""

    op: Literal["rename_column"] = "rename_column"
    table: TableRef
    column: str
    new_name: str


class SwapColumns(_Model):
    """Two columns exchange names (three renames in one migration)."""

    op: Literal["swap_columns"] = "swap_columns"
    table: TableRef
    a: str
    b: str


class AlterColumnType(_Model):
    """A column changes type; ``using`` keeps Postgres's conversion expression."""

    op: Literal["alter_column_type"] = "alter_column_type"
    table: TableRef
    column: str
    old_type: GenericType | None = None
    new_type: GenericType
    safety: Safety
    using: str | None = None


class SetNullable(_Model):
    """NOT NULL is dropped (``nullable: true``) or set (``false``)."""

    op: Literal["set_nullable"] = "set_nullable"
    table: TableRef
    column: str
    nullable: bool


class SetDefault(_Model):
    """The column default is set (expression) or dropped (``null``)."""

    op: Literal["set_default"] = "set_default"
    table: TableRef
    column: str
    default: str | None = None


class DefineType(_Model):
    """A user type (enum or domain) is created or changed.

    It changes no table by itself (columns carry their resolved type); it exists so that
    replaying generic files rebuilds the type registry a later migration resolves names against.
    Dialects treat it as a no-op.
    """

    op: Literal["define_type"] = "define_type"
    name: TableRef
    type: GenericType


class DropType(_Model):
    """A user type is dropped. Dialects treat it as a no-op."""

    op: Literal["drop_type"] = "drop_type"
    name: TableRef


Operation = Annotated[
    CreateTable
    | DropTable
    | RenameTable
    | AddColumn
    | DropColumn
    | RenameColumn
    | SwapColumns
    | AlterColumnType
    | SetNullable
    | SetDefault
    | DefineType
    | DropType,
    Field(discriminator="op"),
]

TABLE_OPS = (
    CreateTable,
    DropTable,
    RenameTable,
    AddColumn,
    DropColumn,
    RenameColumn,
    SwapColumns,
    AlterColumnType,
    SetNullable,
    SetDefault,
)
TYPE_OPS = (DefineType, DropType)
DESTRUCTIVE_OPS = (DropTable, DropColumn)
