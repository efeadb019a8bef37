"""generic_migrations/ on disk: canonical files, the chained sum file, validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gen_migrate.errors import InputError
from gen_migrate.generic.files import (
    SUM_FILE,
    append_to_sum,
    load_dir,
    read_sum,
    validate_dir,
    write_migration,
    write_sum,
)
from gen_migrate.generic.migration import Migration, Source
from gen_migrate.generic.operations import AddColumn, Column, CreateTable, TableRef
from gen_migrate.generic.types import t


def _migration(mid: str, *ops: object) -> Migration:
    return Migration.model_validate(
        {"id": mid, "source": {"framework": "sql", "version": mid.split("_")[0]}, "operations": ops}
    )


def _set(tmp_path: Path) -> Path:
    d = tmp_path / "generic_migrations"
    tbl = TableRef(name="issues")
    write_migration(
        d,
        _migration(
            "002_create",
            CreateTable(table=tbl, columns=[Column(name="id", type=t("int64"), nullable=False)]),
        ),
    )
    write_migration(
        d, _migration("001_add", AddColumn(table=tbl, column=Column(name="x", type=t("bool"))))
    )
    # Captured order differs from name order: 002 first.
    append_to_sum(d, ["002_create.json", "001_add.json"])
    return d


def test_sum_keeps_capture_order_and_validates(tmp_path: Path) -> None:
    d = _set(tmp_path)
    loaded, problems = validate_dir(d)
    assert problems == []
    assert [m.migration.id for m in loaded] == ["002_create", "001_add"]
    sums = read_sum(d)
    assert sums is not None and [n for n, _ in sums.entries] == ["002_create.json", "001_add.json"]
    # Rewriting the sum keeps the order and is byte-identical.
    before = (d / SUM_FILE).read_bytes()
    write_sum(d)
    assert (d / SUM_FILE).read_bytes() == before


def test_edited_file_is_named(tmp_path: Path) -> None:
    d = _set(tmp_path)
    path = d / "001_add.json"
    path.write_text(path.read_text().replace('"bool"', '"int32"'))
    _, problems = validate_dir(d)
    assert len(problems) == 1
    assert problems[0].file.endswith("001_add.json")
    assert "changed since it was hashed" in problems[0].message
    with pytest.raises(InputError, match=r"001_add\.json"):
        load_dir(d)


def test_schema_problem_names_json_path(tmp_path: Path) -> None:
    d = _set(tmp_path)
    path = d / "001_add.json"
    path.write_text(path.read_text().replace('"bool"', '"boolean"'))
    write_sum(d)
    _, problems = validate_dir(d)
    assert [p.path for p in problems] == ["$.operations[0].column.type.kind"]


def test_new_file_not_in_sum_and_missing_file(tmp_path: Path) -> None:
    d = _set(tmp_path)
    write_migration(d, _migration("003_more"))
    (d / "001_add.json").unlink()
    messages = sorted(p.message for p in validate_dir(d)[1])
    assert any("lists 001_add.json, which does not exist" in m for m in messages)
    assert any("not in the sum file" in m for m in messages)


def test_two_branches_adding_a_migration_conflict_in_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    d = _set(repo)

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
            cwd=repo,
            capture_output=True,
            text=True,
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    for branch, mid in (("a", "003_a"), ("b", "003_b")):
        git("checkout", "-q", "-b", branch, "main")
        write_migration(d, _migration(mid))
        append_to_sum(d, [f"{mid}.json"])
        git("add", "-A")
        git("commit", "-qm", mid)
    git("checkout", "-q", "a")
    merged = git("merge", "b")
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout and SUM_FILE in merged.stdout


def test_validate_and_hash_cli(tmp_path: Path) -> None:
    d = _set(tmp_path)
    run = [sys.executable, "-m", "gen_migrate"]
    ok = subprocess.run([*run, "validate"], cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "2 migration(s)" in ok.stdout
    (d / "001_add.json").write_text("{ nope")
    bad = subprocess.run([*run, "validate"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "001_add.json" in bad.stderr and "Traceback" not in bad.stderr
    (d / "001_add.json").write_text(_migration("001_add").to_json())
    assert subprocess.run([*run, "validate"], cwd=tmp_path, capture_output=True).returncode == 2
    assert subprocess.run([*run, "hash"], cwd=tmp_path, capture_output=True).returncode == 0
    assert subprocess.run([*run, "validate"], cwd=tmp_path, capture_output=True).returncode == 0


def test_source_statements_survive(tmp_path: Path) -> None:
    m = Migration(
        id="1_x",
        source=Source(framework="sql", version="1", statements=["ALTER TABLE t ADD c int"]),
    )
    path = write_migration(tmp_path, m)
    assert load_dir_single(path).source.statements == ["ALTER TABLE t ADD c int"]


def load_dir_single(path: Path) -> Migration:
    from gen_migrate.generic.files import load_migration

    return load_migration(path).migration
