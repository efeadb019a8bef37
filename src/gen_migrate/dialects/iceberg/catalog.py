"""Opening the pyiceberg catalog of a target (imports pyiceberg lazily).

``[targets.<name>] catalog`` is a table of pyiceberg catalog properties passed through as they
are, so REST, Glue, Hive and SQL catalogs all work. Without any, the embedded default is the SQL
catalog on SQLite with its warehouse under ``<root>/.gen-migrate/iceberg``.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from gen_migrate.dialects.iceberg.config import IcebergTargetConfig
from gen_migrate.errors import ConfigError, StepFailedError

EMBEDDED_DIR = Path(".gen-migrate") / "iceberg"
_OPEN_ATTEMPTS = 5


def catalog_properties(config: IcebergTargetConfig, root: Path) -> dict[str, str]:
    """The properties pyiceberg receives: the configured ones, or the embedded default."""
    if config.catalog:
        props = dict(config.catalog)
        uri = props.get("uri", "")
        if "type" not in props and "py-catalog-impl" not in props and uri.startswith("sqlite"):
            props["type"] = "sql"
        return props
    base = (root / EMBEDDED_DIR).resolve()
    return {
        "type": "sql",
        "uri": f"sqlite:///{base / 'catalog.db'}",
        "warehouse": (base / "warehouse").as_uri(),
    }


def open_catalog(config: IcebergTargetConfig, root: Path) -> Any:
    """The catalog, with the target's namespace created if missing.

    Several deployers may open a fresh SQL catalog at the same moment; creating its tables or
    the namespace can then race, so opening is retried a few times.
    """
    from pyiceberg.catalog import load_catalog
    from pyiceberg.exceptions import NamespaceAlreadyExistsError

    props = catalog_properties(config, root)
    if not config.catalog:
        (root / EMBEDDED_DIR / "warehouse").mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            catalog = load_catalog(config.catalog_name, **props)
            with contextlib.suppress(NamespaceAlreadyExistsError):
                catalog.create_namespace_if_not_exists(config.namespace)
            return catalog
        except (ValueError, ImportError) as exc:
            raise ConfigError(
                f"iceberg catalog {config.catalog_name!r}: {type(exc).__name__}: {exc}"
            ) from None
        except Exception as exc:  # a race on first use, or the catalog is unreachable
            last = exc
            time.sleep(0.05 * (attempt + 1))
    raise StepFailedError(
        f"iceberg catalog {config.catalog_name!r} cannot be opened: {type(last).__name__}: {last}"
    )


def close_catalog(catalog: Any) -> None:
    """Release the catalog's connections (SQL catalogs hold an engine pool)."""
    engine = getattr(catalog, "engine", None)
    if engine is not None:
        engine.dispose()
