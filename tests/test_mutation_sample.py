"""The mutation tool works (section 7 of issue #14, docs/mutation.md): CI's
fixed sample of mutants of the core, each of which the stateful test alone
must kill. A test, so that the suite's workers share its minute or two."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.long
def test_the_stateful_test_alone_kills_the_fixed_sample() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the mutation tool copies the files git tracks")
    mutmut = Path(sys.executable).with_name("mutmut")
    if not mutmut.exists():
        pytest.skip("mutmut is not installed (the dev extra)")
    done = subprocess.run(
        [sys.executable, "tools/mutation.py", "sample"],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "mutation sample: 2/2 killed" in done.stdout, done.stdout[-4000:]
