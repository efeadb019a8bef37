"""Ingestion-side helpers (column filter for event batches)."""
