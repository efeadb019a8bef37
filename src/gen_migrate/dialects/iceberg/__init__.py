"""Iceberg dialect: schema evolution through pyiceberg, state recorded in the same commit.

Importing this package is cheap; pyiceberg/pyarrow load only when a catalog is opened.
"""
