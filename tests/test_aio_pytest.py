"""An async pytest suite on refloop.aio with one hook in conftest.py
(pytest-asyncio's pytest_asyncio_loop_factories), run in a child pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = """
import refloop.aio

def pytest_asyncio_loop_factories(config, item):
    return {"refloop": refloop.aio.new_event_loop}
"""

TEST = """
import asyncio
import pytest
import refloop.aio

@pytest.mark.asyncio
async def test_runs_on_refloop():
    assert isinstance(asyncio.get_running_loop(), refloop.aio.RefloopEventLoop)
    await asyncio.sleep(0.001)
"""


@pytest.mark.spec("aio.entry")
def test_pytest_asyncio_runs_tests_on_refloop(tmp_path: Path) -> None:
    plugin = pytest.importorskip("pytest_asyncio")
    if not hasattr(plugin.plugin, "PytestAsyncioSpecs"):
        pytest.skip(
            "this pytest-asyncio has no pytest_asyncio_loop_factories hook (1.4 has it)"
        )
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_on_refloop.py").write_text(TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
