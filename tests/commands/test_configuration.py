"""Every environment variable the code reads is documented where an operator looks for it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_READ = re.compile(r"""env_(?:str|bool|int|list|decimal)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_SKIP = {".venv", "tests", "node_modules", ".git"}


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if _SKIP.intersection(path.relative_to(ROOT).parts):
            continue
        names.update(_READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_the_scan_finds_the_settings_variables():
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"} <= variables_read()


def test_every_variable_is_listed_in_env_example():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    missing = variables_read() - listed
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_variable_is_explained_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in variables_read() if f"`{name}`" not in readme}
    assert not missing, f"add to README.md's configuration table: {sorted(missing)}"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]] == ["make run", "make test"]


def test_ci_runs_make_test_against_postgres_and_redis():
    script = (ROOT / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert "postgres://postgres@127.0.0.1:5432/loancenter" in script
    assert "redis://127.0.0.1:6379/0" in script
    assert script.rstrip().splitlines()[-1].startswith("make test")
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111
