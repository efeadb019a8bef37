"""ClickHouse dialect: materialized-view-aware plans applied through clickhouse-connect (chdb or server).

Importing this package is cheap; clickhouse_connect/chdb load only when a client is opened.
"""
