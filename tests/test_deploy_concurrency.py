"""Rolling deploys on real engines: 8 deployers at once, and kill -9 at random moments.

Each case is a set of targets; every deployer is a separate ``gen-migrate`` process, as on real
hosts. State and schemas are read back through ``status --json`` (every target) and, for
Postgres, straight from the catalog.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import create_database, drop_database, dsn_for
from deploy_project import PG_TARGET, cli, pg_snapshot, write_project
from gen_migrate.config import load_config
from gen_migrate.deploy.lock import deploy_lock

EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'
CASES: dict[str, tuple[str, bool]] = {
    # name: (targets toml, use [source] dsn → advisory lock; else file lock)
    "postgres-advisory-lock": (PG_TARGET, True),
    "postgres-file-lock": ('[targets.pg]\ntype = "postgres"\ndsn = "{dsn}"\n', False),
    "all-three-advisory-lock": (PG_TARGET + EMBEDDED, True),
    "embedded-file-lock": (EMBEDDED, False),
}

# One process that finishes the deploy (pre, then post) and prints every target's status: the
# rerun after a kill, in one interpreter start instead of three.
RERUN = """
import json
from gen_migrate.config import load_config
from gen_migrate.deploy.runner import DeployOptions, apply, status
config = load_config()
for phase in ("pre", "post"):
    apply(config, DeployOptions(phase=phase, lock_timeout=60))
print(json.dumps([s.to_dict() for s in status(config)], sort_keys=True))
"""


def _project(tmp_path: Path, case: str, dsn: str) -> Path:
    targets, use_source = CASES[case]
    return write_project(
        tmp_path, source_dsn=dsn if use_source else None, targets=targets.format(dsn=dsn)
    )


def _status(root: Path) -> list[dict[str, Any]]:
    out = cli(root, "status", "--json")
    assert out.returncode == 0, out.stderr
    targets: list[dict[str, Any]] = json.loads(out.stdout)["targets"]
    return targets


def _finish(root: Path, dsn: str) -> dict[str, Any]:
    """Rerun the deploy to its end; the status of every target and the Postgres catalog."""
    out = subprocess.run(
        [sys.executable, "-c", RERUN], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return {"status": json.loads(out.stdout), "postgres": pg_snapshot(dsn)}


def _gen_migrate(*args: str) -> list[str]:
    return [sys.executable, "-m", "gen_migrate", *args]


EIGHT_CASES = [
    pytest.param(c, marks=pytest.mark.slow) if "lake" in CASES[c][0] else pytest.param(c)
    for c in CASES
]


@pytest.mark.parametrize("case", EIGHT_CASES)
def test_eight_deployers_at_once_run_every_step_once(
    tmp_path: Path, pg_dsn: str, case: str
) -> None:
    root = _project(tmp_path / "app", case, pg_dsn)
    env = {k: v for k, v in os.environ.items() if k != "GEN_MIGRATE_SOURCE_DSN"}
    config = load_config(cwd=root)
    # The test holds the deploy lock while the eight start, so they really contend for it
    # (otherwise, on a busy machine, the first may finish before the others have started).
    with deploy_lock(config.source.dsn, config.state_dir, 60):
        procs = [
            subprocess.Popen(
                _gen_migrate("apply", "--phase", "pre", "--lock-timeout", "120"),
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(8)
        ]
        time.sleep(8)
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outputs]
    stdout = [out for out, _ in outputs]
    assert sum(bool(re.search(r"applied \d+ migration\(s\)", out)) for out in stdout) == 1
    assert (
        sum("nothing to do: every pre migration is already applied" in out for out in stdout) == 7
    )
    assert any("by another deployer, while this one waited" in out for out in stdout)
    statuses = _status(root)
    # Every recorded step was run by exactly one deployer, and none found another's work half
    # done (a guard skip would show that two runs overlapped).
    recorded = {s["name"]: s["steps_recorded"] for s in statuses}
    assert sum(out.count(" done: ") for out in stdout) == sum(recorded.values()) > 0
    assert not any(" skipped: " in out for out in stdout)
    for status in statuses:
        assert status["drift"] is False
        assert status["pending_pre"] == []
    assert len(pg_snapshot(pg_dsn)["state"]) == (8 if "pg" in recorded else 0)


KILL_CASES = [
    pytest.param("postgres-advisory-lock"),
    pytest.param("all-three-advisory-lock", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("case", KILL_CASES)
def test_kill_9_at_random_moments_then_rerun_equals_a_clean_run(tmp_path: Path, case: str) -> None:
    rng = random.Random(20251121)
    both = " && ".join(" ".join(_gen_migrate("apply", "--phase", p)) for p in ("pre", "post"))

    def fresh(label: str) -> tuple[Path, str, str]:
        db = create_database("gm_kill")
        dsn = dsn_for(db)
        return _project(tmp_path / label, case, dsn), dsn, db

    root, dsn, db = fresh("clean")
    try:
        start = time.monotonic()
        subprocess.run(["sh", "-c", both], cwd=root, check=True, capture_output=True)
        clean_seconds = time.monotonic() - start
        clean = _finish(root, dsn)
    finally:
        drop_database(db)
    assert all(s["pending_pre"] == s["pending_post"] == [] for s in clean["status"])
    assert all(s["drift"] is False for s in clean["status"])

    killed_at: list[float] = []
    rows_after_kill: list[int] = []
    for trial in range(20):
        root, dsn, db = fresh(f"trial{trial}")
        try:
            proc = subprocess.Popen(
                ["sh", "-c", both],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            delay = rng.uniform(0.0, clean_seconds)
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_at.append(delay)
            rows_after_kill.append(len(pg_snapshot(dsn)["state"]))
            assert _finish(root, dsn) == clean, f"trial {trial}: killed after {delay:.2f}s"
        finally:
            drop_database(db)
    assert len(killed_at) == 20
    # The kills must land inside the history, not only before or after it.
    assert any(0 < n < 10 for n in rows_after_kill), rows_after_kill
