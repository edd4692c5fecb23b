"""docs/side-doors.md is what ``python -m tests.sidedoors.table`` makes of the suite's ``sidedoor`` marks today."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.sidedoors.table import COMMAND, OUTPUT, ROOT


def test_docs_side_doors_is_up_to_date():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_ADDOPTS", "PYTEST_XDIST", "PYTEST_CURRENT"))}
    run = subprocess.run([sys.executable, "-m", "tests.sidedoors.table", "--stdout"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]

    assert run.stdout == OUTPUT.read_text(encoding="utf-8"), (
        f"{OUTPUT.relative_to(ROOT)} is out of date with the suite's sidedoor marks; regenerate it: {COMMAND}")
