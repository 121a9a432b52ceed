"""The README's walk-through of refloop.explore is real: its test, run with
its command, fails with the schedule it shows and writes the picture."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from test_explore_picture import decode

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Finding races in your asyncio tests"


def _blocks() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    at = readme.index(SECTION)
    start = readme.index("```python\n", at) + len("```python\n")
    code = readme[start : readme.index("```\n", start)]
    start = readme.index("```\n$ ", start) + len("```\n")
    shown = readme[start : readme.index("```\n", start)]
    return code, shown


@pytest.mark.spec("explore.replay", "explore.picture", "explore.clock.late")
def test_the_readme_walk_through_finds_the_lost_update(tmp_path: Path) -> None:
    code, shown = _blocks()
    assert code.startswith("# test_bank.py\n")
    (tmp_path / "test_bank.py").write_text(code, encoding="utf-8")
    command, *lines = shown.splitlines()
    argv = shlex.split(command.removeprefix("$ "))
    assert argv[0] == "pytest"
    found = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert found.returncode == 1, found.stdout + found.stderr
    # What the README shows is what pytest printed (its "E" lines, whose
    # indentation follows the source line that raised).
    printed = {
        line[1:].strip() for line in found.stdout.splitlines() if line[:2] == "E "
    }
    for line in lines:
        assert line.startswith("E ")
        assert line[1:].strip() in printed, (line, found.stdout)
    for suffix in (".svg", ".png"):
        assert (tmp_path / "pics" / f"test_two_withdrawals{suffix}").exists()
    width, height, _ = decode((tmp_path / "pics/test_two_withdrawals.png").read_bytes())
    # The committed picture is this run's.
    assert decode((ROOT / "docs/explore-lost-update.png").read_bytes())[:2] == (
        width,
        height,
    )
    assert "![the lost update's timeline](docs/explore-lost-update.png)" in (
        ROOT / "README.md"
    ).read_text(encoding="utf-8")
