"""gen-migrate: keep ClickHouse and Iceberg copies of a Postgres database in step with its
schema."""

__version__ = "0.1.0"
