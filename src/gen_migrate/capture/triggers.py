"""The objects live capture installs in Postgres, and their removal.

Everything lives in the private schema ``gen_migrate_capture``: the log table, the functions of
the ``ddl_command_end`` and ``sql_drop`` event triggers, and the row trigger function that
records *version markers* (a row a framework writes into its version table after each
migration). Log rows are inserted by the triggers themselves, so they belong to the transaction
of the DDL: a migration that rolls back leaves no rows.

For every table a DDL command touches, the trigger also stores the table's columns as the
catalog has them at that moment; the catalog fallback uses these snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

SCHEMA = "gen_migrate_capture"
DDL_TRIGGER = "gen_migrate_capture_ddl"
DROP_TRIGGER = "gen_migrate_capture_drop"
MARKER_TRIGGER = "gen_migrate_capture_marker"

_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"

INSTALL_SQL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.run (
    backend_pid integer NOT NULL,
    started timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE {SCHEMA}.watch (schema_name text NOT NULL, table_name text NOT NULL);
CREATE SEQUENCE {SCHEMA}.event_seq;
CREATE TABLE {SCHEMA}.log (
    seq bigserial PRIMARY KEY,
    txid bigint NOT NULL DEFAULT txid_current(),
    event bigint NOT NULL,
    kind text NOT NULL,
    tag text,
    command_tag text,
    object_type text,
    schema_name text,
    object_identity text,
    rel_name text,
    address jsonb,
    original boolean,
    columns jsonb,
    marker_table text,
    marker_row jsonb,
    query text
);

CREATE FUNCTION {SCHEMA}.columns_of(rel oid) RETURNS jsonb LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'name', a.attname,
        'type', format_type(a.atttypid, a.atttypmod),
        'notnull', a.attnotnull,
        'default', pg_get_expr(d.adbin, d.adrelid),
        'identity', a.attidentity,
        'generated', a.attgenerated) ORDER BY a.attnum), '[]'::jsonb)
    FROM pg_attribute a
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;

CREATE FUNCTION {SCHEMA}.on_marker() RETURNS trigger LANGUAGE plpgsql {_DEFINER} AS $$
BEGIN
    INSERT INTO {SCHEMA}.log (event, kind, tag, marker_table, marker_row, query)
    VALUES (nextval('{SCHEMA}.event_seq'), 'marker', TG_OP,
            TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, to_jsonb(NEW), current_query());
    RETURN NULL;
END
$$;

CREATE FUNCTION {SCHEMA}.watch_table(rel regclass) RETURNS void LANGUAGE plpgsql {_DEFINER} AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER {MARKER_TRIGGER} AFTER INSERT OR UPDATE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.on_marker()', rel);
END
$$;

CREATE FUNCTION {SCHEMA}.on_ddl() RETURNS event_trigger LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    ev bigint := nextval('{SCHEMA}.event_seq');
    q text := current_query();
    r record;
    relkind "char";
    relname name;
    logged integer := 0;
    ours integer := 0;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF r.schema_name = '{SCHEMA}'
           OR (r.command_tag = 'CREATE TRIGGER'
               AND r.object_identity LIKE '{MARKER_TRIGGER} on %') THEN
            ours := ours + 1;
            CONTINUE;
        END IF;
        relkind := NULL;
        relname := NULL;
        IF r.classid = 'pg_class'::regclass THEN
            SELECT c.relkind, c.relname INTO relkind, relname FROM pg_class c WHERE c.oid = r.objid;
        END IF;
        INSERT INTO {SCHEMA}.log (event, kind, tag, command_tag, object_type, schema_name,
                                  object_identity, rel_name, columns, query)
        VALUES (ev, 'ddl', TG_TAG, r.command_tag, r.object_type, r.schema_name,
                r.object_identity, relname,
                CASE WHEN relkind IN ('r', 'p') THEN {SCHEMA}.columns_of(r.objid) END, q);
        logged := logged + 1;
        IF r.command_tag IN ('CREATE TABLE', 'ALTER TABLE') AND relkind IN ('r', 'p')
           AND EXISTS (SELECT 1 FROM {SCHEMA}.watch w
                       WHERE w.schema_name = r.schema_name AND w.table_name = relname)
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                           WHERE t.tgrelid = r.objid AND t.tgname = '{MARKER_TRIGGER}') THEN
            PERFORM {SCHEMA}.watch_table(r.objid::regclass);
        END IF;
    END LOOP;
    IF logged = 0 AND ours = 0 THEN
        INSERT INTO {SCHEMA}.log (event, kind, tag, query) VALUES (ev, 'ddl', TG_TAG, q);
    END IF;
END
$$;

CREATE FUNCTION {SCHEMA}.on_drop() RETURNS event_trigger LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    ev bigint := nextval('{SCHEMA}.event_seq');
    q text := current_query();
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        IF r.schema_name = '{SCHEMA}' THEN
            CONTINUE;
        END IF;
        INSERT INTO {SCHEMA}.log (event, kind, tag, command_tag, object_type, schema_name,
                                  object_identity, address, original, query)
        VALUES (ev, 'drop', TG_TAG, TG_TAG, r.object_type, r.schema_name, r.object_identity,
                to_jsonb(r.address_names), r.original, q);
    END LOOP;
END
$$;

CREATE EVENT TRIGGER {DDL_TRIGGER} ON ddl_command_end EXECUTE FUNCTION {SCHEMA}.on_ddl();
CREATE EVENT TRIGGER {DROP_TRIGGER} ON sql_drop EXECUTE FUNCTION {SCHEMA}.on_drop();
"""

REMOVE_SQL = f"""
DROP EVENT TRIGGER IF EXISTS {DDL_TRIGGER};
DROP EVENT TRIGGER IF EXISTS {DROP_TRIGGER};
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
"""


@dataclass(frozen=True)
class Leftover:
    """What a previous capture run left in the database."""

    schema: bool
    event_triggers: tuple[str, ...]
    backend_pid: int | None
    started: datetime | None
    running: bool

    def describe(self) -> str:
        """One human line: what was found and since when."""
        parts = []
        if self.schema:
            parts.append(f"schema {SCHEMA}")
        parts += [f"event trigger {name}" for name in self.event_triggers]
        since = f" (installed {self.started:%Y-%m-%d %H:%M:%S %Z})" if self.started else ""
        return ", ".join(parts) + since


def is_superuser(conn: psycopg.Connection) -> bool:
    """True when the connected role may create event triggers."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def find_leftover(conn: psycopg.Connection) -> Leftover | None:
    """What an earlier run left behind, or ``None``; ``running`` when its session is alive."""
    has_schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
    triggers = tuple(
        r[0]
        for r in conn.execute(
            "SELECT evtname FROM pg_event_trigger WHERE evtname = ANY(%s) ORDER BY evtname",
            ([DDL_TRIGGER, DROP_TRIGGER],),
        )
    )
    if not has_schema and not triggers:
        return None
    pid: int | None = None
    started: datetime | None = None
    running = False
    if (
        has_schema
        and conn.execute(
            "SELECT 1 FROM pg_class WHERE relnamespace = %s::regnamespace AND relname = 'run'",
            (SCHEMA,),
        ).fetchone()
    ):
        row = conn.execute(
            sql.SQL("SELECT backend_pid, started FROM {}.run LIMIT 1").format(
                sql.Identifier(SCHEMA)
            )
        ).fetchone()
        if row:
            pid, started = row[0], row[1]
            running = bool(
                conn.execute(
                    "SELECT 1 FROM pg_stat_activity"
                    " WHERE pid = %s AND datname = current_database()",
                    (pid,),
                ).fetchone()
            )
    return Leftover(bool(has_schema), triggers, pid, started, running)


def install(conn: psycopg.Connection, watch: Sequence[tuple[str, str]]) -> list[str]:
    """Install schema, log and triggers in one transaction; mark ``watch`` tables (schema,
    name) that exist now and remember the rest for when they are created. Returns the
    version tables that already existed (qualified)."""
    existing: list[str] = []
    with conn.transaction():
        conn.execute(INSTALL_SQL)
        conn.execute(
            sql.SQL("INSERT INTO {}.run (backend_pid) VALUES (pg_backend_pid())").format(
                sql.Identifier(SCHEMA)
            )
        )
        for schema, table in watch:
            conn.execute(
                sql.SQL("INSERT INTO {}.watch VALUES (%s, %s)").format(sql.Identifier(SCHEMA)),
                (schema, table),
            )
            rel = sql.Identifier(schema, table).as_string(conn)
            found = conn.execute("SELECT to_regclass(%s)", (rel,)).fetchone()
            if found and found[0] is not None:
                conn.execute(
                    sql.SQL("SELECT {}.watch_table(%s::regclass)").format(sql.Identifier(SCHEMA)),
                    (rel,),
                )
                existing.append(f"{schema}.{table}")
    return existing


_HOLDERS_SQL = f"""
SELECT DISTINCT l.pid FROM pg_locks l
WHERE l.pid <> pg_backend_pid() AND l.granted AND l.database = (
    SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.relation IN (
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = '{SCHEMA}'
    UNION SELECT t.tgrelid FROM pg_trigger t WHERE t.tgname = '{MARKER_TRIGGER}')
ORDER BY 1
"""


def remove(
    conn: psycopg.Connection,
    *,
    lock_timeout_ms: int = 3000,
    on_blocked: Callable[[str], None] | None = None,
) -> None:
    """Drop event triggers, then the schema (which takes the marker triggers with it).

    A session still inside a transaction that wrote to the log (the backend of a command that
    was killed while Postgres was busy with its query) would block the drop until its query
    ends: after ``lock_timeout_ms`` such sessions are cancelled, then terminated.
    """
    for attempt in range(3):
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                conn.execute(REMOVE_SQL)
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == 2:
                raise
            pids = [row[0] for row in conn.execute(_HOLDERS_SQL)]
            action = "pg_cancel_backend" if attempt == 0 else "pg_terminate_backend"
            for pid in pids:
                conn.execute(f"SELECT {action}(%s)", (pid,))
            if on_blocked is not None and pids:
                verb = "cancelled" if attempt == 0 else "terminated"
                on_blocked(
                    f"{verb} the open transaction of session(s) {', '.join(map(str, pids))}, "
                    f"which held locks on what capture installed (left by the interrupted command)"
                )


LOG_COLUMNS = (
    "seq",
    "txid",
    "event",
    "kind",
    "tag",
    "command_tag",
    "object_type",
    "schema_name",
    "object_identity",
    "rel_name",
    "address",
    "original",
    "columns",
    "marker_table",
    "marker_row",
    "query",
)


def read_log(conn: psycopg.Connection) -> list[dict[str, object]]:
    """Every committed log row, in execution order."""
    query = sql.SQL("SELECT {} FROM {}.log ORDER BY seq").format(
        sql.SQL(", ").join(map(sql.Identifier, LOG_COLUMNS)), sql.Identifier(SCHEMA)
    )
    return [dict(zip(LOG_COLUMNS, row, strict=True)) for row in conn.execute(query)]
