"""The normaliser's shortcuts decide what the slower code they stand in for decides.

Each shortcut (a first-letter choice of the leading-keyword regex, comments skipped by the
statement cut itself, a backward keyword check instead of a regex search, an ASCII identifier
check, the ``BEGIN ATOMIC`` substring test) is compared with the general code on random texts
built from the tokens that matter to it, and on the corpus.
"""

from __future__ import annotations

import random
import re

from conftest import CORPUS
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
