"""Every statement of every corpus .sql file goes through the normaliser without a Python
exception: each is normalised, skipped with a reason, or an error naming file and line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pglast.parser import ParseError, parse_sql_json

from conftest import CORPUS, statement_tree
from gen_migrate.capture.normalize import normalize_sql
from gen_migrate.capture.prefilter import split_prefiltered
from gen_migrate.capture.statements import SourceText, split_statements
from gen_migrate.generic.schema import Schema

SQL_FILES = sorted(
    p.relative_to(CORPUS)
    for sub in ("pg_regress", "structure", "migrations")
    for p in (CORPUS / sub).rglob("*.sql")
)


@pytest.mark.parametrize("rel", SQL_FILES, ids=[str(p) for p in SQL_FILES])
def test_corpus_file_normalises_without_exceptions(rel: Path) -> None:
    path = CORPUS / rel
    text = path.read_text()
    result = normalize_sql(text, Schema(), file=str(rel), on_error="collect")
    counts = Counter(o.kind for o in result.outcomes)
    print(f"\n{rel}: " + ", ".join(f"{k} {counts[k]}" for k in ("normalized", "skipped", "error")))
    assert result.outcomes, f"{rel}: no statements found"
    lines = text.count("\n") + 1
    for o in result.outcomes:
        assert o.reason, f"{o.file}:{o.line}: {o.kind} without a reason"
        assert o.file == str(rel) and 1 <= o.line <= lines
        if o.kind == "error":
            assert o.message().startswith(f"{rel}:{o.line}: ")
        if o.kind == "normalized":
            assert o.operations
        else:
            assert not o.operations


@pytest.mark.parametrize("rel", SQL_FILES, ids=[str(p) for p in SQL_FILES])
def test_prefilter_cuts_and_names_statements_as_the_parser_does(rel: Path) -> None:
    """Statements set aside by their leading keywords sit exactly where the full parse puts
    them, with the node type it gives; the others carry the same JSON tree (locations relative
    to the statement: the prefilter parses the kept statements joined). A text that cannot be
    prefiltered (a statement that does not parse) takes the full-parse route."""
    text = (CORPUS / rel).read_text()
    full = split_statements(SourceText(text))
    fast = split_prefiltered(SourceText(text))
    if fast is None:
        with pytest.raises(ParseError):  # the whole text does not parse: no quick route
            parse_sql_json(text)
        return
    assert [(r.start, r.end, r.line, r.kind) for r in fast] == [
        (r.start, r.end, r.line, r.kind) for r in full
    ]
    set_aside = 0
    for quick, parsed in zip(fast, full, strict=True):
        if isinstance(quick.payload, str):
            assert statement_tree(quick) == statement_tree(parsed)
            continue
        set_aside += 1
        if quick.kind == "ViewStmt":
            view = parsed.node()["view"]
            assert quick.node()["view"] == {
                k: view[k] for k in ("schemaname", "relname") if k in view
            }
        else:
            assert quick.payload is None
    print(f"\n{rel}: {set_aside} of {len(fast)} statements set aside unparsed")
    assert set_aside


@pytest.mark.parametrize("rel", SQL_FILES, ids=[str(p) for p in SQL_FILES])
def test_prefilter_route_gives_the_outcomes_of_the_full_parse(
    rel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every outcome (line, kind, reason, text, operations) and the final schema are the same
    whether statements are set aside by their keywords or all parsed."""
    import gen_migrate.capture.normalize as normalize_module

    text = (CORPUS / rel).read_text()
    quick_schema, full_schema = Schema(), Schema()
    quick = normalize_sql(text, quick_schema, file=str(rel), on_error="collect")
    monkeypatch.setattr(normalize_module, "split_prefiltered", lambda src: None)
    full = normalize_sql(text, full_schema, file=str(rel), on_error="collect")
    assert [(o.line, o.kind, o.reason, o.statement, o.operations) for o in quick.outcomes] == [
        (o.line, o.kind, o.reason, o.statement, o.operations) for o in full.outcomes
    ]
    assert quick.operations == full.operations
    assert quick_schema.hash() == full_schema.hash()
