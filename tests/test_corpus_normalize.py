"""Every statement of every corpus .sql file goes through the normaliser without a Python
exception: each is normalised, skipped with a reason, or an error naming file and line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import CORPUS
from gen_migrate.capture.normalize import normalize_sql
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
