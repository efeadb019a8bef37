"""Iceberg dialect: schema evolution through pyiceberg, state recorded in the same commit.

Importing this package is cheap; pyiceberg/pyarrow load only when a catalog is opened.

Modules: ``config`` (settings), ``types`` (type map from ``dialects/iceberg.toml``),
``translate`` (operations → steps, pure), ``payloads`` (what a step does, rendered and applied),
``state`` (step records in table and namespace properties), ``catalog`` (lazy pyiceberg
catalog), ``introspect`` (live columns and properties), ``apply`` (running a step with its
record), ``target`` (:class:`~gen_migrate.dialects.iceberg.target.IcebergTarget`).
"""
