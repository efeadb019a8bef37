"""``gen-migrate capture --dsn DSN -- COMMAND…``: observe Postgres while any migration tool runs.

The command runs as a child process with its output streaming through; its exit code becomes
ours. Ctrl-C and SIGTERM are forwarded to the child and otherwise held back until the capture has
read its log and removed its triggers, so an interrupted run still cleans up and still writes
the migrations that committed before the interruption.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from gen_migrate.capture.observer import LiveCapture, observe
from gen_migrate.config import Config
from gen_migrate.errors import InputError

__all__ = ["LiveCapture", "find_command", "observe", "run_command", "run_live_capture"]

_FORWARDED = (signal.SIGINT, signal.SIGTERM)


class _Signals:
    """Signals received while a capture runs, forwarded to the running child, if any."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.child: subprocess.Popen[bytes] | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)


@contextmanager
def _held_signals() -> Iterator[_Signals]:
    state = _Signals()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = {s: signal.signal(s, state.handle) for s in _FORWARDED}
    try:
        yield state
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def find_command(argv0: str) -> str:
    """The executable ``argv0`` names (searched on ``PATH`` unless it holds a slash)."""
    if os.sep in argv0 or (os.altsep and os.altsep in argv0):
        if os.path.isfile(argv0) and os.access(argv0, os.X_OK):
            return argv0
        raise InputError(f"command not found or not executable: {argv0}")
    found = shutil.which(argv0)
    if found is None:
        raise InputError(f"command not found: {argv0} (not on PATH)")
    return found


def run_command(argv: Sequence[str], signals: _Signals | None = None) -> int:
    """Run ``argv`` with inherited stdin/stdout/stderr; its exit code (128+N for signal N)."""
    try:
        child = subprocess.Popen(list(argv))
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if signals is not None:
        signals.child = child
        for signum in signals.received:
            child.send_signal(signum)
    try:
        code = child.wait()
    finally:
        if signals is not None:
            signals.child = None
    return 128 - code if code < 0 else code


def run_live_capture(
    dsn: str,
    command: Sequence[str],
    *,
    out: Path,
    framework: str = "auto",
    name: str | None,
    phase: str = "auto",
    config: Config,
    verbose: bool,
    echo: Callable[[str], None],
) -> int:
    """Observe ``dsn`` while ``command`` runs; write one generic file per app migration that
    committed; return the command's exit code (128+N when a signal N interrupted the run)."""
    if not command:
        raise InputError(
            "no command to observe: pass it after `--`, e.g. "
            "`gen-migrate capture --dsn DSN -- alembic upgrade head`"
        )
    executable = find_command(command[0])
    with _held_signals() as signals:
        with observe(
            dsn,
            out=out,
            framework=framework,
            name=name,
            phase=phase,
            config=config,
            project=Path.cwd(),
            echo=echo,
            verbose=verbose,
        ):
            code = run_command([executable, *command[1:]], signals)
            if code != 0:
                echo(
                    f"{command[0]} exited with code {code}: capturing the migrations that "
                    "committed before it stopped"
                )
        if signals.received:
            code = 128 + signals.received[0]
    return code
