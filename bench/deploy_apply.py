"""Deploy runner: what a deploy costs, on the real Postgres and the embedded stores.

Figures (wall seconds, median of REPEAT where it says so):

- the deploy lock: one acquire + release of the advisory lock and of the file lock;
- ``apply`` of the 10-migration test history (8 pre, 2 post) in process, per target set,
  without interpreter start-up;
- each CLI command as a fresh process (what a deploy host pays), Postgres + chdb + Iceberg;
- 8 deployers started at once on one fresh project: wall time until all exit.

    /work/venv/bin/python bench/deploy_apply.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from conftest import create_database, drop_database, dsn_for  # noqa: E402
from deploy_project import PG_TARGET, write_project  # noqa: E402
from gen_migrate.config import load_config  # noqa: E402
from gen_migrate.deploy.lock import deploy_lock  # noqa: E402
from gen_migrate.deploy.runner import DeployOptions, apply  # noqa: E402

EMBEDDED = '[targets.ch]\ntype = "clickhouse"\n[targets.lake]\ntype = "iceberg"\n'
REPEAT = 5


def _median(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cli(root: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gen_migrate", *args], cwd=root, check=True, capture_output=True
    )


def main() -> None:
    db = create_database("gm_bench")
    dsn = dsn_for(db)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)

            def lock(with_dsn: bool) -> None:
                with deploy_lock(dsn if with_dsn else None, base / "state", 5):
                    pass

            print(f"lock, advisory (connect + lock + unlock): {_median(lambda: lock(True)):.4f}s")
            print(f"lock, file:                               {_median(lambda: lock(False)):.4f}s")

            def in_process(label: str, targets: str) -> None:
                one = create_database("gm_bench")
                try:
                    root = write_project(base / label, source_dsn=dsn_for(one), targets=targets)
                    config = load_config(cwd=root)
                    start = time.perf_counter()
                    for phase in ("pre", "post"):
                        apply(config, DeployOptions(phase=phase))  # type: ignore[arg-type]
                    took = time.perf_counter() - start
                    print(f"apply pre+post in process, {label}: {took:.3f}s")
                finally:
                    drop_database(one)

            in_process("postgres", PG_TARGET)

            root = write_project(base / "cli", source_dsn=dsn, targets=PG_TARGET + EMBEDDED)
            for args in (
                ("plan", "--phase", "pre"),
                ("apply", "--phase", "pre"),
                ("apply", "--phase", "post"),
                ("apply", "--phase", "post"),
                ("status",),
            ):
                start = time.perf_counter()
                _cli(root, *args)
                print(f"CLI {' '.join(args):<22} 3 targets: {time.perf_counter() - start:.2f}s")

            fresh = create_database("gm_bench")
            try:
                root = write_project(
                    base / "eight", source_dsn=dsn_for(fresh), targets=PG_TARGET + EMBEDDED
                )
                start = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [sys.executable, "-m", "gen_migrate", "apply", "--phase", "pre"],
                        cwd=root,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(8)
                ]
                codes = [p.wait() for p in procs]
                took = time.perf_counter() - start
                print(f"8 deployers at once, 3 targets: {took:.2f}s, exit codes {codes}")
            finally:
                drop_database(fresh)
    finally:
        drop_database(db)


if __name__ == "__main__":
    main()
