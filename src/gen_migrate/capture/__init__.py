"""Postgres side: the pglast normaliser, the live observer (event triggers), catalog
introspection."""
