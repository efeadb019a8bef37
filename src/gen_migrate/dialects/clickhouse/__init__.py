"""ClickHouse dialect: materialized-view-aware plans, applied with clickhouse-connect
(chdb in process, or a server).

Importing this package is cheap; clickhouse_connect/chdb load only when a client is opened.
"""
