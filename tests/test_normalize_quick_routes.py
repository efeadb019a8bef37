"""The normaliser's quick routes give what its general translators give.

A DO block whose body holds no dynamic SQL and only statements set aside by their leading
keywords (data changes, functions, triggers, comments) is skipped from the body's JSON text,
without decoding the PL/pgSQL tree. Every corpus file and a set of edge shapes go through the
normaliser with and without that route; every outcome (line, kind, reason, text, operations) and
the final schema must be the same.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

import gen_migrate.capture.doblock as doblock_module
from conftest import CORPUS
from gen_migrate.capture.normalize import NormalizeResult, normalize_sql
from gen_migrate.generic.schema import Schema

SQL_FILES = sorted(
    p.relative_to(CORPUS)
    for sub in ("pg_regress", "structure", "migrations")
    for p in (CORPUS / sub).rglob("*.sql")
)


def _both_routes(
    text: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[NormalizeResult, int]:
    """Normalise ``text`` with the quick route (counting the blocks it decided) and without it;
    assert the two agree; return the quick route's result and count."""
    decided = Counter[bool]()
    quick_route = doblock_module._changes_data_only

    def counting(body: str) -> bool:
        found = quick_route(body)
        decided[found] += 1
        return found

    quick_schema, full_schema = Schema(), Schema()
    with monkeypatch.context() as patch:
        patch.setattr(doblock_module, "_changes_data_only", counting)
        quick = normalize_sql(text, quick_schema, file=name, on_error="collect")
    with monkeypatch.context() as patch:
        patch.setattr(doblock_module, "_changes_data_only", lambda body: False)
        full = normalize_sql(text, full_schema, file=name, on_error="collect")
    assert [(o.line, o.kind, o.reason, o.statement, o.operations) for o in quick.outcomes] == [
        (o.line, o.kind, o.reason, o.statement, o.operations) for o in full.outcomes
    ]
    assert quick.operations == full.operations
    assert quick_schema.hash() == full_schema.hash()
    return quick, decided[True]


@pytest.mark.parametrize("rel", SQL_FILES, ids=[str(p) for p in SQL_FILES])
def test_quick_route_gives_the_general_outcomes(rel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, decided = _both_routes((CORPUS / rel).read_text(), str(rel), monkeypatch)
    print(f"\n{rel}: {decided} DO blocks skipped from their JSON text")


def test_quick_route_decides_data_only_blocks_of_the_histories(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total = 0
    for path in sorted((CORPUS / "migrations").glob("*.sql")):
        total += _both_routes(path.read_text(), path.name, monkeypatch)[1]
    assert total >= 20


EDGES = """
CREATE TABLE t (id int, note text);
DO $$ BEGIN UPDATE t SET note = 'x'; INSERT INTO t VALUES (1, 'a"b'); END $$;
DO $$ DECLARE r record; BEGIN FOR r IN SELECT * FROM t LOOP DELETE FROM t; END LOOP; END $$;
DO $$ BEGIN RAISE NOTICE 'nothing'; END $$;
DO $$ BEGIN IF true THEN ALTER TABLE t ADD COLUMN c int; END IF; END $$;
DO $$ BEGIN UPDATE t SET note = 'y'; ALTER TABLE t ADD COLUMN d int; END $$;
DO $$ BEGIN EXECUTE 'UPDATE t SET note = ''z'''; END $$;
DO $$ BEGIN UPDATE t SET note = 'PLpgSQL_stmt_dynexecute'; END $$;
DO $$ BEGIN FOR i IN 1..3 LOOP ALTER TABLE t ADD COLUMN e int; END LOOP; END $$;
DO $$ BEGIN SELECT 1 INTO STRICT x; END $$;
DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; COMMENT ON TABLE t IS 'c'; END $$;
DO $$ BEGIN UPDATE t SET $$ LANGUAGE plpgsql;
"""


def test_edge_blocks_take_the_route_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    result, decided = _both_routes(EDGES, "edges.sql", monkeypatch)
    assert decided == 4  # update/insert, loop of delete, raise only, perform + comment
    assert [(o.kind, o.reason) for o in result.outcomes][1:5] == [
        ("skipped", "DO block without DDL (changes data only)"),
        ("skipped", "DO block without DDL (changes data only)"),
        ("skipped", "DO block without DDL (changes data only)"),
        ("normalized", "DO block (1 statement)"),
    ]
    kinds = [o.kind for o in result.outcomes]
    assert kinds[5] == "normalized" and kinds[6] == "error" and kinds[8] == "error"


QUIET = """
CREATE TABLE p (id int PRIMARY KEY, code text);
CREATE TABLE c (id int, p_id int, code text);
ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE;
ALTER TABLE ONLY public.c ADD FOREIGN KEY (p_id) REFERENCES public.p ON UPDATE SET NULL
  ON DELETE NO ACTION NOT VALID;
alter table if exists "c" add constraint "c u" unique (code, "id") deferrable initially deferred;
ALTER TABLE c ADD CONSTRAINT c_p2 FOREIGN KEY (p_id) REFERENCES p (id), ADD COLUMN x int;
ALTER TABLE c ADD CONSTRAINT c_u2 UNIQUE (code) /* trailing */;
ALTER TABLE c DROP CONSTRAINT IF EXISTS c_p CASCADE;
ALTER TABLE c DROP CONSTRAINT c_u, DROP COLUMN code;
ALTER TABLE c VALIDATE CONSTRAINT c_p;
ALTER TABLE c OWNER TO someone;
ALTER TABLE c DISABLE TRIGGER ALL;
ALTER TABLE c ENABLE TRIGGER USER;
ALTER TABLE c ENABLE TRIGGER "all";
ALTER TABLE nowhere DROP CONSTRAINT x;
ALTER TABLE c ADD PRIMARY KEY (id);
ALTER TABLE c ADD CONSTRAINT c_ck CHECK (id > 0);
CREATE VIEW v AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one;
ALTER TABLE v ADD COLUMN nope int;
DROP VIEW IF EXISTS v, public.other CASCADE;
DROP MATERIALIZED VIEW mv;
ALTER TABLE v ADD COLUMN nope int;
ALTER TABLE mv ADD COLUMN nope int;
DROP VIEW "V";
"""


def test_quiet_alters_and_view_drops_are_set_aside_with_the_parsed_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Single-action ALTER TABLEs that change no column, materialized views and DROP VIEWs are
    set aside by their text; multi-action ones, primary keys and checks are parsed; every
    outcome is the one the full parse gives (a dropped view's name is no longer known as a
    view)."""
    import gen_migrate.capture.normalize as normalize_module
    from gen_migrate.capture.prefilter import split_prefiltered
    from gen_migrate.capture.statements import SourceText

    cut = split_prefiltered(SourceText(QUIET))
    assert cut is not None
    set_aside = [(r.kind, r.reason) for r in cut if r.payload is None]
    assert set_aside == [
        ("AlterTableStmt", "no column change (add constraint foreign)"),
        ("AlterTableStmt", "no column change (add constraint foreign)"),
        ("AlterTableStmt", "no column change (add constraint unique)"),
        ("AlterTableStmt", "no column change (drop constraint)"),
        ("AlterTableStmt", "no column change (validate constraint)"),
        ("AlterTableStmt", "no column change (owner)"),
        ("AlterTableStmt", "no column change (disable triggers)"),
        ("AlterTableStmt", "no column change (enable triggers)"),
        ("AlterTableStmt", "no column change (enable trigger)"),
        ("AlterTableStmt", "no column change (drop constraint)"),
        ("CreateTableAsStmt", "materialized view"),
        ("DropStmt", "drop view: no replicated table column changes"),
        ("DropStmt", "drop materialized view: no replicated table column changes"),
        ("DropStmt", "drop view: no replicated table column changes"),
    ]
    quick_schema, full_schema = Schema(), Schema()
    quick = normalize_sql(QUIET, quick_schema, file="quiet.sql", on_error="collect")
    monkeypatch.setattr(normalize_module, "split_prefiltered", lambda src: None)
    full = normalize_sql(QUIET, full_schema, file="quiet.sql", on_error="collect")
    assert [(o.line, o.kind, o.reason, o.statement, o.operations) for o in quick.outcomes] == [
        (o.line, o.kind, o.reason, o.statement, o.operations) for o in full.outcomes
    ]
    assert quick_schema.hash() == full_schema.hash()
    kinds = {o.statement.split(" ADD COLUMN")[0]: o.kind for o in quick.outcomes[-6:]}
    assert kinds["ALTER TABLE v"] == "error" and kinds["ALTER TABLE mv"] == "error"


_BACKTRACKING_PIECE = re.compile(
    rb"""(\s*)(?:
        [^;'"$\-/]+
      | (?<=[eE])(?<![A-Za-z0-9_\x80-\xff$][eE])'(?:[^'\\]|\\.|'')*'
      | '[^']*'
      | "[^"]*"
      | --[^\n]*
      | /\*(?:[^*/]|\*(?!/)|/(?!\*))*\*/
      | (?<![A-Za-z0-9_\x80-\xff$])\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*|)\$
        [^$]*(?:\$(?!\2\$)[^$]*)*\$\2\$
      | [-/$'"]
    )*(?:;|\Z)""",
    re.VERBOSE | re.DOTALL,
)
"""The prefilter's statement cut written with backtracking quantifiers (its reference)."""


def test_possessive_cut_cuts_where_the_backtracking_one_does() -> None:
    from gen_migrate.capture.prefilter import _PIECE

    rng = random.Random(7)
    tokens = [b"a", b" ", b"\n", b";", b"'", b"''", b'"', b"E'", b"e'", b"\\", b"\\'", b"--"]
    tokens += [b"-", b"/", b"/*", b"*/", b"*", b"$", b"$$", b"$a$", b"$b$", b"a$", b"\x80"]
    texts = [b"".join(rng.choices(tokens, k=rng.randint(1, 14))) for _ in range(20_000)]
    texts += [(CORPUS / rel).read_bytes() for rel in SQL_FILES]
    for text in texts:
        assert [m.regs[:2] for m in _PIECE.finditer(text)] == [
            m.regs[:2] for m in _BACKTRACKING_PIECE.finditer(text)
        ], text[:200]
