"""Parity and drift reports across generic files, Postgres and every target.

(Work in progress by the check engineer: the deploy engineer does not need to write here.)
"""
