"""The deploy lock, taken before any store is opened.

A Postgres advisory lock on the source database when one is configured (every deployer of the
app can reach it), else a file lock in the state directory beside the embedded stores (chdb
allows one process per data path). Both are released by the operating system or the server when
the holder dies, so a killed deployer never leaves a stale lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gen_migrate.errors import LockTimeoutError, StepFailedError

LOCK_FILE = "deploy.lock"
_POLL = 0.05


def advisory_key(name: str = "gen-migrate deploy") -> int:
    """A stable signed 64-bit advisory lock key."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@dataclass
class LockInfo:
    """How the lock was taken: which kind, where, and whether another holder made us wait."""

    kind: str
    where: str
    waited: bool = False
    seconds: float = 0.0


@contextmanager
def deploy_lock(dsn: str | None, state_dir: Path, timeout: float) -> Iterator[LockInfo]:
    """Hold the deploy lock for the body; :class:`LockTimeoutError` after ``timeout`` seconds."""
    if dsn:
        with _advisory(dsn, timeout) as info:
            yield info
    else:
        with _file(state_dir / LOCK_FILE, timeout) as info:
            yield info


@contextmanager
def _advisory(dsn: str, timeout: float) -> Iterator[LockInfo]:
    import psycopg

    key = advisory_key()
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepFailedError(
            f"cannot connect to the source database for the lock: {first}"
        ) from None
    with conn:
        info = LockInfo("postgres advisory lock", f"key {key}")
        start = time.monotonic()
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row is not None and row[0]:
                break
            info.waited = True
            if time.monotonic() - start >= timeout:
                raise LockTimeoutError(
                    f"deploy lock ({info.kind}, {info.where}) still held by another deployer "
                    f"after {timeout:g}s"
                )
            time.sleep(_POLL)
        info.seconds = time.monotonic() - start
        try:
            yield info
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def _file(path: Path, timeout: float) -> Iterator[LockInfo]:
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    info = LockInfo("file lock", str(path))
    start = time.monotonic()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        info.waited = True
        try:
            lock.acquire(timeout=timeout, poll_interval=_POLL)
        except Timeout:
            raise LockTimeoutError(
                f"deploy lock ({info.kind} {path}) still held by another deployer after "
                f"{timeout:g}s"
            ) from None
    info.seconds = time.monotonic() - start
    try:
        yield info
    finally:
        lock.release()
