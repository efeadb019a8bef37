"""Iceberg dialect: schema evolution through pyiceberg, state recorded in the same commit.

Importing this package is cheap; pyiceberg/pyarrow load only when a catalog is opened through
pyiceberg: on the SQL catalog on SQLite (the embedded default), reading state and columns does not
need it, so ``check`` and ``status`` do without; executing a plan does.

Modules: ``config`` (settings), ``types`` (type map from ``dialects/iceberg.toml``),
``translate`` (operations → steps, pure), ``payloads`` (what a step does, rendered and applied),
``state`` (step records in table and namespace properties), ``catalog`` (lazy pyiceberg
catalog), ``sqlcatalog`` (read-only SQLite reader of that catalog), ``introspect`` (live columns
and properties), ``apply`` (running a step with its record), ``target``
(:class:`~gen_migrate.dialects.iceberg.target.IcebergTarget`).
"""
