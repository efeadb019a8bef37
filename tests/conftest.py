"""Shared fixtures: throwaway Postgres databases on the real server, corpus paths, temp stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GEN_MIGRATE_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


_LOCATIONS = {"location", "list_start", "list_end", "rexpr_list_start", "rexpr_list_end"}
"""Keys of byte offsets in pglast's JSON trees besides ``*_location``."""


def statement_tree(raw: Any) -> Any:
    """A parsed statement's JSON tree with every location (``location``, ``arg_location``,
    an array's ``list_start``/``list_end``…) made relative to the statement's own text (minus
    ``raw.base``): what a translator reads of it, whichever text it was parsed from (the source,
    or the prefilter's kept statements joined)."""
    from gen_migrate.capture.statements import decode_json

    def shift(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: value - raw.base
                if (key in _LOCATIONS or key.endswith("_location"))
                and isinstance(value, int)
                and value >= 0
                else shift(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [shift(item) for item in node]
        return node

    return shift(decode_json(raw.payload) if isinstance(raw.payload, str) else raw.payload)


def pg_admin_dsn() -> str:
    """DSN of the maintenance database tests create their databases from."""
    return os.environ.get("GEN_MIGRATE_TEST_PG_DSN", DEFAULT_DSN)


def dsn_for(database: str) -> str:
    """The admin DSN pointed at another database."""
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_dsn())
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


def create_database(prefix: str = "gm_test") -> str:
    """Create an empty database; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database`, closing its connections."""
    with psycopg.connect(pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """DSN of a fresh throwaway database on the real Postgres, dropped afterwards."""
    name = create_database()
    try:
        yield dsn_for(name)
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` (real inputs no one here wrote)."""
    assert CORPUS.is_dir(), f"corpus not found at {CORPUS}"
    return CORPUS


def pytest_configure(config: pytest.Config) -> None:
    """Corpus-parametrised tests would collect nothing without the corpus: refuse instead."""
    if not CORPUS.is_dir():
        raise pytest.UsageError(
            f"the shared corpus is not at {CORPUS}: tests read ../shared/corpus "
            "(set GEN_MIGRATE_SHARED to the folder that holds it)"
        )
