"""The seed's demo, end to end: a client sends two framed messages to a
server over TCP on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from refloop._demo import demo

EXPECTED = [[0, "héllo"], [42, "world"]]


@pytest.mark.spec("loop.run", "op.accept", "msg.frame.encode")
def test_the_demo_command_prints_both_messages() -> None:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "refloop", "demo"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    stdout = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert "[0, 'héllo']" in stdout
    assert "[42, 'world']" in stdout
    assert stdout.index("[0, 'héllo']") < stdout.index("[42, 'world']")


@pytest.mark.spec("loop.run", "op.accept", "msg.frame.encode")
def test_demo_returns_the_messages_the_server_read() -> None:
    said: list[str] = []
    assert demo(say=said.append) == EXPECTED
    assert said[0].startswith("server listening on 127.0.0.1:")
    assert said[1:] == [f"server received {message!r}" for message in EXPECTED]


@pytest.mark.spec("op.accept")
def test_the_demo_listens_on_a_port_the_os_chose() -> None:
    """Not a fixed port: two demos at once both work, and the port is one
    the OS hands out (an ephemeral one), not a well-known one."""
    said: list[str] = []
    assert demo(say=said.append) == EXPECTED
    port = int(said[0].rsplit(":", 1)[1])
    assert port >= 1024, said[0]
