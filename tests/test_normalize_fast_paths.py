"""The normaliser's shortcuts decide what the slower code they stand in for decides.

Each shortcut (a first-letter choice of the leading-keyword regex, comments skipped by the
statement cut itself, a backward keyword check instead of a regex search, an ASCII identifier
check, the ``BEGIN ATOMIC`` substring test) is compared with the general code on random texts
built from the tokens that matter to it, and on the corpus.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from conftest import CORPUS, statement_tree
from gen_migrate.capture import prefilter, sqltext
from gen_migrate.capture.pgtypes import quote_ident
from gen_migrate.capture.statements import LEAD

SQL_FILES = sorted((CORPUS / "migrations").glob("*.sql"))


def _sig(m: re.Match[bytes] | None) -> object:
    if m is None:
        return None
    named = {k: v for k, v in m.groupdict().items() if v is not None}
    return m.span(), m.lastgroup, named


def test_head_by_first_letter_matches_as_the_whole_head() -> None:
    rng = random.Random(3)
    words = [b"create", b"or", b"replace", b"view", b"index", b"unique", b"trigger"]
    words += [b"function", b"materialized", b"drop", b"alter", b"table", b"only", b"if"]
    words += [b"exists", b"rename", b"constraint", b"to", b"insert", b"update", b"delete"]
    words += [b"comment", b"on", b'"x y"', b"s.t", b"a", b"(", b"\n", b"*", b"temp"]
    words += [b"recursive", b"procedure", b"CREATE", b"Alter", b"DROP", b"add", b"enable"]
    texts = [b" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(20_000)]
    texts += [p.read_bytes() for p in SQL_FILES]
    for text in texts:
        for piece in prefilter._PIECE.finditer(text):
            at = piece.end(2)
            if at < len(text) and text[at] in prefilter._HEAD_BY_FIRST:
                quick = prefilter._HEAD_BY_FIRST[text[at]](text, at, piece.end())
                assert _sig(quick) == _sig(prefilter._HEAD.match(text, at, piece.end()))


def test_cut_skips_leading_comments_as_lead_does() -> None:
    rng = random.Random(11)
    tokens = [b"a", b" ", b"\n", b";", b"'", b'"', b"E'", b"\\'", b"--", b"-", b"/", b"/*"]
    tokens += [b"*/", b"*", b"$$", b"$a$", b"/* x */", b"-- c\n", b"/* /* */", b"-1"]
    texts = [b"".join(rng.choices(tokens, k=rng.randint(1, 16))) for _ in range(50_000)]
    texts += [p.read_bytes() for p in SQL_FILES]
    for text in texts:
        for piece in prefilter._PIECE.finditer(text):
            a, b = piece.span()
            if a == len(text):
                break
            end = b - 1 if text[b - 1] == 59 else b
            start = piece.end(2)
            if start < end and text[start] in prefilter._COMMENT_START:
                start = LEAD.match(text, start, end).end()  # type: ignore[union-attr]
            lead = LEAD.match(text, piece.end(1), end).end()  # type: ignore[union-attr]
            assert (start if start < end else None) == (lead if lead < end else None), text


def test_keyword_before_finds_what_the_lead_regex_finds() -> None:
    rng = random.Random(5)
    tokens = ["default", "DEFAULT", "Default", "using", "as", "AS", " ", "\n", "(", "((", "x"]
    tokens += ["_", "1", "'a'", "\t", "\x1c", "xdefault", "default_", "a(", ";"]
    for _ in range(50_000):
        text = "".join(rng.choices(tokens, k=rng.randint(1, 10)))
        at = rng.randint(0, len(text))
        lo = rng.choice([0, max(0, at - 5)])
        for keyword in ("DEFAULT", "USING", "AS"):
            found = sqltext._lead(keyword).search(text, lo, at)
            expected = -1 if found is None else found.end(1)
            assert sqltext._keyword_end_before(text, keyword, lo, at) == expected, (text, at)


def test_quote_ident_ascii_check_agrees_with_the_character_tests() -> None:
    def general(ident: str) -> str:
        plain = ident and (ident[0].isalpha() or ident[0] == "_") and ident == ident.lower()
        if plain and all(c.isalnum() or c in "_$" for c in ident):
            return ident
        return '"' + ident.replace('"', '""') + '"'

    rng = random.Random(1)
    alphabet = "abzAZ09_$\"' -.é"
    for _ in range(50_000):
        ident = "".join(rng.choices(alphabet, k=rng.randint(0, 6)))
        assert quote_ident(ident) == general(ident), ident


def test_atomic_substring_test_agrees_with_the_regex() -> None:
    cases = [b"begin atomic", b"BEGIN\n ATOMIC;", b"Begin Atomic", b"atomic", b"xbegin atomic"]
    cases += [b"begin atomically", b"$$ begin atomic $$", b"no such word", b"ATOMIC begin"]
    for text in cases:
        for pad in (b"", b"CREATE FUNCTION f() "):
            data = pad + text
            expected = prefilter._ATOMIC.search(data, 0, len(data)) is not None
            assert prefilter._atomic(data, 0, len(data)) == expected, data


def test_table_ref_hash_is_the_tuple_hash_however_made() -> None:
    """``hash(TableRef)`` reads a slot filled on first use: every way of making one (validated,
    copied, pickled, interned) hashes as its (schema, name) and finds the same dict entry."""
    import copy
    import pickle

    from gen_migrate.capture.pgtypes import table_ref
    from gen_migrate.generic.operations import TableRef

    made = [
        TableRef(schema="s", name="t"),
        TableRef.model_validate({"schema": "s", "name": "t"}),
        TableRef.model_validate_json('{"schema":"s","name":"t"}'),
        table_ref("s", "t"),
        TableRef(schema="s", name="x").model_copy(update={"name": "t"}),
    ]
    made += [copy.deepcopy(made[0]), copy.copy(made[0]), pickle.loads(pickle.dumps(made[0]))]
    table = {made[0]: 1}
    for ref in made:
        assert hash(ref) == hash(ref) == hash(("s", "t"))
        assert table[ref] == 1
    assert hash(TableRef(name="t")) == hash(("public", "t"))
    with pytest.raises(AttributeError):
        _ = made[0].not_a_field  # type: ignore[attr-defined]


def test_kept_statements_parsed_joined_get_what_the_full_parse_gives() -> None:
    """Only the kept statements are parsed, joined by ``;`` (set-aside ones, comments, empty
    statements and whitespace between them left out): every kept statement still gets the
    tree (locations relative to itself), span, line and kind the full parse of the source gives
    it, non-ASCII text included."""
    from gen_migrate.capture.statements import SourceText, split_statements

    set_aside = [
        "INSERT INTO t VALUES (1, 'a;b')",
        "CREATE INDEX i ON t (a)",
        "COMMENT ON TABLE t IS 'x -- ; y'",
        "DROP VIEW IF EXISTS v",
        "ALTER TABLE t OWNER TO bob",
        "UPDATE t SET a = 2 /* ; */",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
    ]
    kept = [
        "CREATE TABLE u (a int)",
        "ALTER TABLE u ADD COLUMN b text",
        "SELECT 1",
        "ALTER TABLE u ADD COLUMN é text DEFAULT 'ü' -- ü\n",
        "CREATE TABLE v (a int /* ; */ DEFAULT 1, b int)",
    ]
    gaps = ["\n", " ", "\n-- note; here\n", "\n/* a ; b */ ", ";\n", "\n\n;"]
    rng = random.Random(11)
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 9)):
            parts.append(rng.choice(set_aside if rng.random() < 0.7 else kept))
            parts.append(";" + rng.choice(gaps))
        text = rng.choice(["", "-- head\n", "  "]) + "".join(parts)
        fast = prefilter.split_prefiltered(SourceText(text))
        full = split_statements(SourceText(text))
        if fast is None:  # nothing kept or nothing set aside: the full-parse route
            chosen = {statement in kept for statement in parts[::2]}
            assert len(chosen) == 1, text
            continue
        assert [(r.start, r.end, r.line, r.kind) for r in fast] == [
            (r.start, r.end, r.line, r.kind) for r in full
        ], text
        for quick, parsed in zip(fast, full, strict=True):
            if isinstance(quick.payload, str):
                assert statement_tree(quick) == statement_tree(parsed), text


def test_joined_cut_checks_the_parser_against_the_scanner() -> None:
    """``from_json_kept`` gives each kept statement its kind, tree, offset in the joined text
    (``base``), span and line; and ``None`` when the parser's statements do not start and end
    where the scanner's do."""
    from pglast.parser import parse_sql_json

    from gen_migrate.capture.statements import SourceText, from_json_kept, split_statements

    rng = random.Random(5)
    pieces = ["SELECT 1", "CREATE TABLE t (a int)", "ALTER TABLE t ADD b int", "SELECT 'é' -- é\n"]
    for _ in range(200):
        chosen = [rng.choice(pieces).encode() for _ in range(rng.randint(1, 6))]
        joined = b";".join(chosen)
        kept, at, start = [], 0, rng.randint(0, 50)
        for line, piece in enumerate(chosen, 1):
            kept.append((at, start, start + len(piece), line))
            at += len(piece) + 1
            start += len(piece) + rng.randint(1, 30)
        tree = parse_sql_json(joined.decode())
        cut = from_json_kept(tree, len(joined), kept)
        assert cut is not None, joined
        for raw, (at, start, end, line), piece in zip(cut, kept, chosen, strict=True):
            assert (raw.base, raw.start, raw.end, raw.line) == (at, start, end, line)
            [alone] = split_statements(SourceText(piece.decode()))
            assert raw.kind == alone.kind
            assert statement_tree(raw) == statement_tree(alone)
        size = len(joined)
        assert from_json_kept(tree, size, kept[:-1]) is None
        assert from_json_kept(tree, size, [*kept, (size + 1, 0, 1, 9)]) is None
        at, start, end, line = kept[-1]
        assert from_json_kept(tree, size, [*kept[:-1], (at, start, end + 1, line)]) is None
        if len(kept) > 1:
            at, start, end, line = kept[1]
            assert from_json_kept(tree, size, [kept[0], (at + 1, start, end, line)]) is None


def test_modified_builtin_types_resolve_from_the_cache_as_by_the_full_lookup() -> None:
    """A built-in type with modifiers seen before (``varchar(255)``, ``numeric(12,2)``) comes
    from the cache: the same type, or the same error, as the full lookup (forced here by an
    override of an unrelated name), for the type names of the corpus and a few odd ones."""
    from pglast.parser import ParseError, parse_sql_json

    from gen_migrate.capture import pgtypes
    from gen_migrate.capture.statements import decode_json

    def type_names(node: object) -> list[dict[str, object]]:
        found = []
        stack = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, dict):
                if "typeName" in cur and isinstance(cur["typeName"], dict):
                    found.append(cur["typeName"])
                stack.extend(cur.values())
            elif isinstance(cur, list):
                stack.extend(cur)
        return found

    spelled = ["varchar(255)", "pg_catalog.varchar(3)", "numeric(12,2)", "numeric(7)"]
    spelled += ["timestamp(3)", "timestamptz(9)", "time(2) with time zone", "interval(2)"]
    spelled += ["interval day to second(3)", "bit(4)", "varbit(5)", "char(2)", "int4(3)"]
    spelled += ["varchar(0)", "numeric(0)", "numeric(1,2,3)", "varchar(4)[]", "public.text(3)"]
    spelled += ["numeric(1.5)", "numeric(n)", "mytype(3)", "varchar(3) array", "float(3)"]
    sql = ";".join(f"CREATE TABLE t{i} (c {s})" for i, s in enumerate(spelled))
    nodes = type_names(decode_json(parse_sql_json(sql)))
    for path in SQL_FILES:
        try:
            nodes += type_names(decode_json(parse_sql_json(path.read_text())))
        except ParseError:  # the parser refuses the whole file: no type names from it
            continue

    # the same without a location, with array bounds, SETOF, %TYPE
    odd = [{k: v for k, v in node.items() if k != "location"} for node in nodes]
    odd += [{**node, "arrayBounds": [{"Integer": {"ival": -1}}]} for node in odd[:60]]
    odd += [{**node, "setof": True} for node in odd[:60]]
    odd += [{**node, "pct_type": True} for node in odd[:60]]
    nodes += odd
    fast = pgtypes.TypeRegistry()
    full = pgtypes.TypeRegistry(overrides={"gen_migrate_unrelated": "string"})

    def outcome(node: dict[str, object], registry: pgtypes.TypeRegistry) -> object:
        try:
            return pgtypes.generic_from_typename(node, registry)
        except pgtypes.UnknownTypeError as exc:
            return ("error", exc.message)

    for node in nodes:
        expected = outcome(node, full)
        assert outcome(node, fast) == expected, node
        assert outcome(node, fast) == expected, node  # now from the cache


def test_comment_check_by_the_last_comment_agrees_with_a_search_from_the_expression() -> None:
    """``after <= text.rfind("/*")`` says what ``text.find("/*", after) >= 0`` says."""
    rng = random.Random(7)
    tokens = ["/*", "*/", "/", "*", "a", " ", "--", "'", "/**/"]
    for _ in range(20_000):
        text = "".join(rng.choices(tokens, k=rng.randint(0, 8)))
        last = sqltext.StatementText(text, True)._last_comment
        for after in range(len(text) + 2):
            assert (after <= last) == (text.find("/*", after) >= 0), (text, after)


_PLAIN_PIECE = re.compile(
    rb"""(\s*+)((?:\s++|--[^\n]*+|/\*(?:[^*/]++|\*(?!/)|/(?!\*))*\*/)*+)(?:
        [^;'"$\-/]++
      | (?<=[eE])(?<![A-Za-z0-9_\x80-\xff$][eE])'(?:[^'\\]|\\.|'')*'
      | '[^']*+'
      | "[^"]*+"
      | --[^\n]*+
      | /\*(?:[^*/]++|\*(?!/)|/(?!\*))*\*/
      | (?<![A-Za-z0-9_\x80-\xff$])\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*+|)\$
        [^$]*+(?:\$(?!\3\$)[^$]*+)*+\$\3\$
      | [-/$'"]
    )*+(?:;|\Z)""",
    re.VERBOSE | re.DOTALL,
)
"""The statement cut as first written: a negated class, lookbehinds before the quote or dollar
they look behind."""


def test_statement_cut_written_for_speed_cuts_as_the_plain_form() -> None:
    rng = random.Random(17)
    tokens = [b"a", b"e", b"E", b"x1", b"_", b"\xc3\xa9", b" ", b"\n", b";", b"'", b"''", b'"']
    tokens += [b"\\", b"\\'", b"E'", b"e'", b"xe'", b"--", b"-", b"/", b"/*", b"*/", b"*"]
    tokens += [b"$", b"$$", b"$a$", b"a$", b"$1", b"#", b"%", b"&", b"(", b",", b".", b":", b"<"]
    tokens += [b"\x00", b"\xff", b"\t"]
    texts = [b"".join(rng.choices(tokens, k=rng.randint(1, 20))) for _ in range(50_000)]
    texts += [bytes(range(256)), *(p.read_bytes() for p in SQL_FILES)]
    for text in texts:
        fast = [m.regs for m in prefilter._PIECE.finditer(text)]
        assert fast == [m.regs for m in _PLAIN_PIECE.finditer(text)], text


def test_joined_cut_of_the_corpus_is_the_general_cut() -> None:
    """On the corpus, ``from_json_kept`` (wrapper ends compared, not read) gives what the
    general cut of the same tree gives."""
    from pglast.parser import parse_sql_json

    from gen_migrate.capture.statements import SourceText, from_json, from_json_kept

    for path in SQL_FILES:
        data = SourceText(path.read_text()).data
        kept, parts, at = [], [], 0
        for piece in prefilter._PIECE.finditer(data):
            start, end = piece.end(2), piece.end()
            end -= data[end - 1 : end] == b";"
            if start < end and data[start] not in prefilter._COMMENT_START:
                kept.append((at, start, end, len(kept) + 1))
                parts.append(data[start:end])
                at += end - start + 1
        joined = b";".join(parts)
        tree = parse_sql_json(joined.decode())
        cut = from_json_kept(tree, len(joined), kept)
        assert cut is not None, path
        general = from_json(joined, tree, 0, len(joined))
        assert len(cut) == len(general) == len(kept)
        for raw, whole, (at, start, end, line) in zip(cut, general, kept, strict=True):
            assert (raw.kind, raw.payload) == (whole.kind, whole.payload)
            assert (raw.base, raw.start, raw.end, raw.line) == (at, start, end, line)
            assert (whole.start, whole.end) == (at, at + end - start)
        at, start, end, line = kept[-1]
        for wrong in (end - 1, end + 1):  # the last statement must end where the text ends
            assert from_json_kept(tree, len(joined), [*kept[:-1], (at, start, wrong, line)]) is None


DO_EDGES = r"""
DO $$ BEGIN CASE WHEN true THEN ALTER TABLE t ADD COLUMN a int; WHEN false THEN UPDATE t SET a = 1;
  ELSE CREATE TABLE u (x int); END CASE; END $$;
DO $$ DECLARE n int := 1; BEGIN IF n > 0 THEN DELETE FROM t; ELSIF n < 0 THEN DROP TABLE t;
  ELSE COMMENT ON TABLE t IS 'c'; END IF; ALTER TABLE t ADD COLUMN b int; END $$;
DO $$ BEGIN <<outer>> BEGIN CREATE TYPE e AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN
  ALTER TYPE e ADD VALUE 'b'; WHEN others THEN BEGIN DROP TYPE e; END; END; ALTER TABLE t
  ADD COLUMN c int; END $$;
DO $$ DECLARE r record; i int; a int[] := '{1}'; c CURSOR FOR SELECT 1; BEGIN
  FOR i IN 1..2 LOOP ALTER TABLE t ADD COLUMN d int; END LOOP;
  FOR r IN SELECT * FROM t LOOP UPDATE t SET a = r.a; END LOOP;
  FOREACH i IN ARRAY a LOOP INSERT INTO t VALUES (i); END LOOP;
  WHILE false LOOP EXIT WHEN true; END LOOP; LOOP EXIT; END LOOP;
  FOR r IN c LOOP DELETE FROM t; END LOOP;
  OPEN c; FETCH c INTO r; CLOSE c; GET DIAGNOSTICS i = ROW_COUNT; PERFORM 1;
  RAISE NOTICE '% %', i, r USING HINT = 'h'; END $$;
DO $$ DECLARE r record; BEGIN ALTER TABLE t ADD COLUMN e int;
  FOR r IN EXECUTE 'SELECT 1' LOOP ALTER TABLE t ADD COLUMN f int; END LOOP;
  ALTER TABLE t ADD COLUMN g int; END $$;
DO $$ BEGIN UPDATE t SET note = '"PLpgSQL_stmt_execsql":{"lineno":1,'; END $$;
DO $$ BEGIN UPDATE t SET note = '","query":"ALTER TABLE t DROP COLUMN x"\'; END $$;
DO $$ BEGIN UPDATE t SET "a""b" = E'\\"\\'; INSERT INTO t VALUES ('PLpgSQL_stmt_dynfors'); END $$;
DO $$ BEGIN UPDATE t SET note = '"}]}}'; ALTER TABLE t ADD COLUMN h int; END $$;
"""


def _generic_do_walk(tree: Any) -> list[tuple[str | None, bool, bool]]:
    """The static SQL of a PL/pgSQL tree found by going into every field but variables and
    expressions (the walk ``doblock`` had before it knew which fields hold statements)."""
    from gen_migrate.capture.doblock import _LOOPS

    found: list[tuple[str | None, bool, bool]] = []
    stack: list[tuple[Any, bool, bool]] = [(tree, False, False)]
    while stack:
        cur, guarded, looped = stack.pop()
        if cur is None or type(cur) is str:
            found.append((cur, guarded, looped))
            continue
        if type(cur) is list:
            stack.extend((item, guarded, looped) for item in reversed(cur))
            continue
        todo: list[tuple[Any, bool, bool]] = []
        for key, value in cur.items():
            if key == "PLpgSQL_stmt_execsql":
                todo.append((value["sqlstmt"]["PLpgSQL_expr"]["query"], guarded, looped))
            elif key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"):
                todo.append((None, guarded, looped))
            elif key == "PLpgSQL_stmt_if":
                todo.append((value, True, looped))
            elif key == "PLpgSQL_stmt_block":
                todo.append((value, guarded or "exceptions" in value, looped))
            elif key in _LOOPS:
                todo.append((value, guarded, True))
            elif key not in ("datums", "PLpgSQL_expr") and type(value) in (dict, list):
                todo.append((value, guarded, looped))
        stack.extend(reversed(todo))
    return found


def _do_block_trees() -> list[tuple[str, Any]]:
    """The JSON text and tree of every DO block body of the corpus and of :data:`DO_EDGES`."""
    from pglast.parser import ParseError, parse_plpgsql_json

    from gen_migrate.capture.doblock import _WRAP
    from gen_migrate.capture.statements import SourceText, decode_json, split_statements

    texts = [DO_EDGES] + [p.read_text() for p in sorted(CORPUS.rglob("*.sql"))]
    found = []
    for text in texts:
        for raw in split_statements(SourceText(text)):
            if raw.kind != "DoStmt":
                continue
            assert raw.payload is not None
            node = raw.payload if isinstance(raw.payload, dict) else decode_json(raw.payload)
            args = {a["DefElem"]["defname"]: a["DefElem"]["arg"] for a in node["args"]}
            body = args["as"]["String"]["sval"]
            try:
                tree_text = parse_plpgsql_json(f"{_WRAP}{body}$gen_migrate$")
            except ParseError:
                continue
            found.append((tree_text, decode_json(tree_text)))
    return found


def test_do_block_walk_finds_what_a_walk_of_every_field_finds() -> None:
    """Going only into the fields that hold statements finds the static SQL (and the dynamic
    SQL) that going into every field finds, in the same order, equally guarded and looped;
    a block whose JSON text the quick route calls data-only has no dynamic SQL and only
    statements set aside by their leading keywords."""
    from gen_migrate.capture import doblock

    trees = _do_block_trees()
    assert len(trees) >= 70
    data_only = 0
    for text, tree in trees:
        found: list[tuple[str | None, bool, bool]] = []
        doblock._collect_statements(tree, False, False, found)
        assert found == _generic_do_walk(tree), text
        expected = all(q is not None and prefilter.inert_kind(q) for q, _, _ in found)
        decided = doblock._changes_data_only(text)
        assert decided == expected or (not decided and "PLpgSQL_stmt_dyn" in text), text
        data_only += decided
    assert data_only >= 25


def test_type_key_read_from_the_field_dict_is_the_key_of_the_fields() -> None:
    """``GenericType.key`` reads the field dict: the same tuple the attributes give."""
    from gen_migrate.capture.pgtypes import TypeRegistry, enum_type, parse_type, table_ref
    from gen_migrate.generic.types import GenericType

    registry = TypeRegistry()
    mood = enum_type(table_ref("s", "mood"), ["ok", "sad"])
    types = [parse_type(t, registry) for t in ("integer", "numeric(12,2)", "varchar(5)[]")]
    types += [mood, GenericType(kind="array", element=mood, pg="s.mood[]")]

    def by_attributes(ty: GenericType) -> tuple[object, ...]:
        element = ty.element
        return (
            ty.kind.value,
            ty.precision,
            ty.scale,
            ty.max_length,
            ty.name,
            ty.values,
            by_attributes(element) if element is not None else None,
        )

    for ty in types:
        assert ty.key() == by_attributes(ty), ty
