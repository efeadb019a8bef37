"""The lazy clickhouse-connect client: chdb in process (``chdb:///path``) or a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gen_migrate.errors import ConfigError, StepFailedError

DEFAULT_CHDB_DIR = Path(".gen-migrate") / "clickhouse"


def chdb_path(url: str | None, root: Path) -> Path | None:
    """The data directory of a chdb URL (the default when ``url`` is None), else None."""
    if url is None:
        return root / DEFAULT_CHDB_DIR
    if url.startswith("chdb://"):
        rest = url[len("chdb://") :]
        path = Path(unquote(rest)) if rest else root / DEFAULT_CHDB_DIR
        return path if path.is_absolute() else root / path
    return None


def open_client(url: str | None, root: Path) -> Any:
    """A connected clickhouse-connect client (imports clickhouse_connect here, not earlier)."""
    import clickhouse_connect

    local = chdb_path(url, root)
    try:
        if local is not None:
            local.mkdir(parents=True, exist_ok=True)
            # chdb://relative/path would read as host "relative" and database "path".
            return clickhouse_connect.get_client(dsn=f"chdb://{local.resolve()}")
        assert url is not None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ConfigError(f"ClickHouse url must be chdb:///path or http(s)://…, not {url!r}")
        return clickhouse_connect.get_client(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=parts.scheme == "https",
        )
    except ConfigError:
        raise
    except Exception as exc:
        where = local if local is not None else urlsplit(url or "")._replace(netloc="…").geturl()
        raise StepFailedError(f"cannot open ClickHouse at {where}: {exc}") from None
