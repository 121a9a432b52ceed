"""The examples run and say what they should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.spec("cancel.scope.timeout", "cancel.scope.group", "thread.run")
def test_timeouts_groups_and_threads_over_real_sockets() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "timeouts_groups_threads.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "fast: got {'slept': 0.01}",
        "medium: got {'slept': 0.05}",
        "slow: gave up after 0.1 s",
    ]
