"""Parity and drift reports across generic files, Postgres and every target (``gen-migrate check``).

Entry point: :func:`gen_migrate.check.runner.run_check` with
:class:`~gen_migrate.check.runner.CheckOptions`, returning a
:class:`~gen_migrate.check.report.CheckReport` (rendered by :mod:`gen_migrate.check.report`).
The parts: :mod:`~gen_migrate.check.integrity`, :mod:`~gen_migrate.check.completeness`,
:mod:`~gen_migrate.check.parity`, and :mod:`~gen_migrate.check.counting` (queries per store).
"""
