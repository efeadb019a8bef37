"""Configuration loading and the CLI's contract (fast help, one-line errors, exit codes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gen_migrate.config import load_config
from gen_migrate.errors import ConfigError
from gen_migrate.generic.operations import TableRef


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config.migrations_dir == tmp_path / "generic_migrations"
    assert config.targets == {}


def test_toml_with_targets_and_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gen-migrate.toml").write_text(
        """
[source]
dsn = "postgresql://localhost/app"
[tables]
include = ["issues", "notes", "app.*"]
exclude = ["*_tmp"]
[targets.ch]
type = "clickhouse"
url = "chdb:///tmp/x"
[targets.lake]
type = "iceberg"
namespace = "analytics"
"""
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.delenv("GEN_MIGRATE_SOURCE_DSN", raising=False)
    config = load_config(cwd=sub)
    assert config.root == tmp_path
    assert config.source.dsn == "postgresql://localhost/app"
    assert config.targets["ch"].type == "clickhouse"
    assert config.targets["lake"].type == "iceberg"
    assert config.tables.managed(TableRef(name="issues"))
    assert config.tables.managed(TableRef(schema="app", name="x"))
    assert not config.tables.managed(TableRef(name="users"))
    assert not config.tables.managed(TableRef(schema="app", name="x_tmp"))
    monkeypatch.setenv("GEN_MIGRATE_SOURCE_DSN", "postgresql://other/db")
    assert load_config(cwd=sub).source.dsn == "postgresql://other/db"


def test_pyproject_section(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.gen-migrate.migrations]\ndir = "gm"\n')
    assert load_config(cwd=tmp_path).migrations_dir == tmp_path / "gm"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[source]\ndsnn = 'x'\n", "source.dsnn"),
        ("[targets.x]\ntype = 'mysql'\n", "targets.x"),
        ("[targets.ch]\ntype = 'clickhouse'\nmv_strategy = 'yolo'\n", "mv_strategy"),
        ("[source\n", "invalid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, where: str) -> None:
    (tmp_path / "gen-migrate.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"gen-migrate\.toml") as info:
        load_config(cwd=tmp_path)
    assert where in info.value.message


def test_cli_bad_config_exit_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "gen-migrate.toml").write_text("[source]\ndsnn = 'x'\n")
    out = subprocess.run(
        [sys.executable, "-m", "gen_migrate", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "source.dsnn" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from gen_migrate.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('chdb', 'pyarrow', 'pyiceberg', 'clickhouse_connect', 'pglast',"
        " 'sqlglot', 'psycopg') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "capture" in out.stdout and "validate" in out.stdout


def test_schema_command_prints_json_schema() -> None:
    import json

    out = subprocess.run(
        [sys.executable, "-m", "gen_migrate", "schema"], capture_output=True, text=True, check=True
    )
    schema = json.loads(out.stdout)
    ops = schema["properties"]["operations"]["items"]["discriminator"]["mapping"]
    assert {"create_table", "swap_columns", "alter_column_type", "set_default"} <= set(ops)
