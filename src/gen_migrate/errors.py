"""Errors the CLI turns into one clear line and an exit code.

Exit codes (documented in the README): 0 done or nothing to do, 1 a step failed,
2 refused by policy or bad input, 3 lock timeout.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_LOCK_TIMEOUT = 3


class GenMigrateError(Exception):
    """Base of every error meant for a user: the message is the one line they see."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InputError(GenMigrateError):
    """Bad input: a file, config or statement that cannot be used. Nothing was changed."""


class ConfigError(InputError):
    """The configuration is invalid."""


class RefusedError(GenMigrateError):
    """A change refused by policy before anything ran."""


class StepFailedError(GenMigrateError):
    """A step failed while running against a store."""

    exit_code = EXIT_FAILED


class LockTimeoutError(GenMigrateError):
    """The deploy lock was not obtained in time."""

    exit_code = EXIT_LOCK_TIMEOUT
