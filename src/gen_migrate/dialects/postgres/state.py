"""The ``gen_migrate_migrations`` table in the Postgres target: one row per finished step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gen_migrate.dialects.base import AppliedMigration

if TYPE_CHECKING:
    import psycopg

STATE_TABLE = "gen_migrate_migrations"

CREATE_STATE = f"""
CREATE TABLE IF NOT EXISTS public.{STATE_TABLE} (
    target text NOT NULL,
    migration_id text NOT NULL,
    step integer NOT NULL,
    checksum text NOT NULL,
    complete boolean NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, migration_id, step)
)
"""

INSERT_STEP = f"""
INSERT INTO public.{STATE_TABLE} (target, migration_id, step, checksum, complete)
VALUES (%s, %s, %s, %s, %s)
"""


def read_state(
    conn: psycopg.Connection[tuple[object, ...]], target: str
) -> dict[str, AppliedMigration]:
    """Applied migrations of ``target`` (empty when the state table does not exist yet)."""
    row = conn.execute("SELECT to_regclass(%s)", (f"public.{STATE_TABLE}",)).fetchone()
    if row is None or row[0] is None:
        return {}
    out: dict[str, AppliedMigration] = {}
    rows = conn.execute(
        f"SELECT migration_id, step, checksum, complete FROM public.{STATE_TABLE} "
        "WHERE target = %s ORDER BY applied_at, migration_id, step",
        (target,),
    ).fetchall()
    for mid, step, checksum, complete in rows:
        am = out.setdefault(str(mid), AppliedMigration(str(mid), str(checksum)))
        am.steps_done.add(int(str(step)))
        am.complete = am.complete or bool(complete)
    return out
