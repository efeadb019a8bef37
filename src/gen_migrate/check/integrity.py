"""Integrity: the generic files against their sum file, and what each store recorded against
the files.

A file edited after it was hashed, a file missing from the sum, a migration a store applied
whose file has since changed or disappeared, and a migration a store applied only in part are
each one line naming the file (and the store).
"""

from __future__ import annotations

from collections.abc import Mapping

from gen_migrate.dialects.base import AppliedMigration
from gen_migrate.generic.files import MigrationFile, Problem


def file_problems(problems: list[Problem]) -> list[str]:
    """The problems :func:`~gen_migrate.generic.files.validate_dir` found, one line each."""
    return [str(p) for p in problems]


def applied_problems(
    store: str, applied: Mapping[str, AppliedMigration], files: Mapping[str, MigrationFile]
) -> list[str]:
    """Every applied migration whose file changed or is gone, or that stopped half-way."""
    out: list[str] = []
    for mid, am in sorted(applied.items()):
        mf = files.get(mid)
        if mf is None:
            out.append(f"{mid} is applied in {store} but its file is missing")
            continue
        if mf.checksum != am.checksum:
            out.append(
                f"{mf.name} changed after it was applied (applied sha256:{am.checksum}, "
                f"file sha256:{mf.checksum})"
            )
        if not am.complete:
            done = ", ".join(str(i) for i in sorted(am.steps_done)) or "none"
            out.append(
                f"{mf.name} is applied only in part in {store} (steps done: {done}): "
                "run gen-migrate apply to finish it"
            )
    return out
