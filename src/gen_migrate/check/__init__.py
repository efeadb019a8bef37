"""Parity and drift reports across generic files, Postgres and every target."""
