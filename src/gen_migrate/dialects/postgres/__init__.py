"""Postgres as a target for SQL-first teams: applies captured source statements, records them."""
