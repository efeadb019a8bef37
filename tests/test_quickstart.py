"""The README's main job (quickstart.sh) runs on the embedded stores and ends with every store
agreeing with the generic files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    for name in ("gen-migrate.toml", "quickstart.sh"):
        shutil.copy(REPO / name, work / name)
    for name in ("generic_migrations", "fixtures"):
        shutil.copytree(REPO / name, work / name)
    # The script installs into .venv unless one exists: reuse the environment running the tests.
    (work / ".venv").symlink_to(Path(sys.prefix))
    run = subprocess.run(
        ["bash", "quickstart.sh"], cwd=work, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "create view issues_latest_mv again" in out
    assert "drop temp view issues_latest_mv__gm_tmp" in out
    assert "rewrite view notes_archive_mv (read body as note)" in out
    assert out.count("drift: none") == 2
    assert "every store agrees" in out
