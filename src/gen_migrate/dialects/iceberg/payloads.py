"""What one Iceberg step does, as plain data: a catalog call or the calls of one schema update.

Each payload renders itself for plans (``render``) and, for schema updates, applies its calls
to a pyiceberg ``UpdateSchema`` against the live schema (``apply``), so facts that only the live
table knows (its identifier fields) are read at the moment the update is built. Each ``apply``
also updates ``identifiers`` (the identifier field names after the update), which the runner
sets explicitly at the end: pyiceberg's own tracking loses them in a swap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gen_migrate.dialects.iceberg.types import parse_type


@dataclass(frozen=True)
class IceColumn:
    """A column of an Iceberg table as planned: name, type spelling, required flag."""

    name: str
    type: str
    required: bool = False


def _q(value: Any) -> str:
    return repr(value)


@dataclass(frozen=True)
class AddColumn:
    """``add_column(name, type)``: always optional; ``default`` becomes the initial default."""

    name: str
    type: str
    default: Any = None

    def render(self) -> str:
        extra = f", default_value={self.default!r}" if self.default is not None else ""
        return f".add_column({_q(self.name)}, {_q(self.type)}, required=False{extra})"

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update`` (a pyiceberg ``UpdateSchema``)."""
        update.add_column(
            self.name, parse_type(self.type), required=False, default_value=self.default
        )


@dataclass(frozen=True)
class DeleteColumn:
    """``delete_column(name)``; an identifier field leaves the identifier set in the same update."""

    name: str

    def render(self) -> str:
        return f".delete_column({_q(self.name)})"

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update``."""
        identifiers.discard(self.name)
        update.delete_column(self.name)


@dataclass(frozen=True)
class RenameColumn:
    """``rename_column(old, new)`` (resolved against the schema the update starts from)."""

    old: str
    new: str

    def render(self) -> str:
        return f".rename_column({_q(self.old)}, {_q(self.new)})"

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update``."""
        update.rename_column(self.old, self.new)
        if self.old in identifiers:
            identifiers.discard(self.old)
            identifiers.add(self.new)


@dataclass(frozen=True)
class SwapColumns:
    """``rename_column(a, b)`` and ``rename_column(b, a)`` in the same update: both resolve
    against the starting schema, so the two fields exchange names (a ``tmp`` name would fail)."""

    a: str
    b: str

    def render(self) -> str:
        return (
            f".rename_column({_q(self.a)}, {_q(self.b)}).rename_column({_q(self.b)}, {_q(self.a)})"
        )

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update``; identifier fields follow their fields."""
        update.rename_column(self.a, self.b)
        update.rename_column(self.b, self.a)
        swap = {self.a: self.b, self.b: self.a}
        renamed = {swap.get(n, n) for n in identifiers}
        identifiers.clear()
        identifiers.update(renamed)


@dataclass(frozen=True)
class UpdateType:
    """``update_column(name, type)``: a legal promotion."""

    name: str
    type: str

    def render(self) -> str:
        return f".update_column({_q(self.name)}, {_q(self.type)})"

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update``."""
        update.update_column(self.name, field_type=parse_type(self.type))


@dataclass(frozen=True)
class MakeOptional:
    """``make_column_optional(name)``; an identifier field first leaves the identifier set."""

    name: str

    def render(self) -> str:
        return f".make_column_optional({_q(self.name)})"

    def apply(self, update: Any, identifiers: set[str]) -> None:
        """Stage on ``update``."""
        identifiers.discard(self.name)
        update.make_column_optional(self.name)


SchemaCall = AddColumn | DeleteColumn | RenameColumn | SwapColumns | UpdateType | MakeOptional


@dataclass(frozen=True)
class UpdateSchema:
    """One ``table.transaction()``: an ``update_schema()`` with these calls, then the state."""

    table: str
    calls: tuple[SchemaCall, ...]

    def render(self, namespace: str) -> list[str]:
        """One line: the chained update."""
        return ["update_schema()" + "".join(c.render() for c in self.calls)]


@dataclass(frozen=True)
class CreateTable:
    """``create_table`` with the schema, identifier fields and the state property."""

    table: str
    columns: tuple[IceColumn, ...]
    identifier: tuple[str, ...] = ()

    def render(self, namespace: str) -> list[str]:
        """One line naming every column."""
        cols = ", ".join(
            f"{c.name} {c.type}{' required' if c.required else ''}" for c in self.columns
        )
        ident = f", identifier_fields={list(self.identifier)!r}" if self.identifier else ""
        return [f"create_table({_q(f'{namespace}.{self.table}')}, schema=[{cols}]{ident})"]


@dataclass(frozen=True)
class DropTable:
    """``drop_table`` (files stay) or ``purge_table`` (files removed)."""

    table: str
    purge: bool = False

    def render(self, namespace: str) -> list[str]:
        """One line."""
        call = "purge_table" if self.purge else "drop_table"
        return [f"{call}({_q(f'{namespace}.{self.table}')})"]


@dataclass(frozen=True)
class RenameTable:
    """``rename_table`` within the namespace."""

    table: str
    new_name: str

    def render(self, namespace: str) -> list[str]:
        """One line."""
        return [
            f"rename_table({_q(f'{namespace}.{self.table}')}, {_q(f'{namespace}.{self.new_name}')})"
        ]


Payload = UpdateSchema | CreateTable | DropTable | RenameTable
