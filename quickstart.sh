#!/usr/bin/env bash
# The main job on the embedded defaults: install gen-migrate, deploy the example project's
# generic migrations to ClickHouse (chDB, in process) and Iceberg (SQL catalog on SQLite), show
# status, and check the stores against the schema the generic files describe. No server needed.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/gen-migrate ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q -e .
fi
gm=.venv/bin/gen-migrate

echo "== 0. start from empty embedded stores (.gen-migrate/)"
rm -rf .gen-migrate

echo "== 1. the ClickHouse layout the example deploys onto: siphon tables and materialized views"
.venv/bin/python fixtures/example_app/load_clickhouse_layout.py

echo "== 2. the generic files are intact"
$gm validate

echo "== 3. what the pre phase will do"
$gm plan --phase pre

echo "== 4. pre phase: additive changes, before the app's pre-deploy migrations"
$gm apply --phase pre

echo "== 5. post phase: drops (legacy_score is read by issues_latest_mv: the view is swapped first)"
$gm apply --phase post

echo "== 6. status: applied, pending, schema hash, drift"
$gm status

echo "== 7. parity of every store with the schema the generic files describe"
$gm check --stores-only

echo
echo "Done. With a Postgres at hand, the full check compares it too:"
echo "  GEN_MIGRATE_SOURCE_DSN=postgresql://postgres@127.0.0.1:5432/app $gm check"
