"""Applied-migration state kept in the Iceberg catalog itself.

Each finished step is one property ``gen-migrate.step.<migration id>.<step index>`` whose value
is ``{"checksum": …, "of": <number of steps>}``. It is written in the same commit as the step:

- schema updates: ``set_properties`` in the same ``table.transaction()`` as ``update_schema``;
- ``create_table``: in ``properties=`` of the creation itself;
- ``rename_table``: on the renamed table right after the rename (the rename itself is the guard:
  source gone and destination present means done);
- ``drop_table``: no table is left, so the table's own step properties are first copied onto the
  namespace (so earlier migrations stay recorded), then the table is dropped, then the drop step
  is recorded on the namespace (a missing table means dropped).

A migration without steps (only type definitions or defaults) is recorded on the namespace as
``gen-migrate.empty.<migration id>``. :func:`collect` merges namespace and table properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from gen_migrate.dialects.base import AppliedMigration

STEP_PREFIX = "gen-migrate.step."
EMPTY_PREFIX = "gen-migrate.empty."


def step_key(migration_id: str, index: int) -> str:
    """The property that records step ``index`` of a migration."""
    return f"{STEP_PREFIX}{migration_id}.{index}"


def empty_key(migration_id: str) -> str:
    """The namespace property that records a migration with no Iceberg step."""
    return f"{EMPTY_PREFIX}{migration_id}"


def step_value(checksum: str, total: int) -> str:
    """The recorded value: checksum and number of steps of the migration."""
    return json.dumps({"checksum": checksum, "of": total}, sort_keys=True)


def recorded_checksum(properties: Mapping[str, str], migration_id: str, index: int) -> str | None:
    """The checksum recorded for a step, or ``None`` when the step is not recorded."""
    raw = properties.get(step_key(migration_id, index))
    if raw is None:
        return None
    return str(json.loads(raw)["checksum"])


def state_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """Only the gen-migrate properties."""
    return {k: v for k, v in properties.items() if k.startswith((STEP_PREFIX, EMPTY_PREFIX))}


def collect(sources: Iterable[Mapping[str, str]]) -> dict[str, AppliedMigration]:
    """Merge the gen-migrate properties of the namespace and every table."""
    found: dict[str, AppliedMigration] = {}
    totals: dict[str, int] = {}
    for props in sources:
        for key, raw in props.items():
            if key.startswith(EMPTY_PREFIX):
                mid = key[len(EMPTY_PREFIX) :]
                found[mid] = AppliedMigration(mid, raw, set(), complete=True)
                totals[mid] = 0
            elif key.startswith(STEP_PREFIX):
                mid, _, index = key[len(STEP_PREFIX) :].rpartition(".")
                if not mid or not index.isdigit():
                    continue
                value = json.loads(raw)
                am = found.setdefault(mid, AppliedMigration(mid, str(value["checksum"])))
                am.steps_done.add(int(index))
                totals[mid] = int(value["of"])
    for mid, am in found.items():
        am.complete = am.complete or len(am.steps_done) >= totals.get(mid, 1)
    return found
