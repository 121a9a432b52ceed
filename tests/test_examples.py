"""The examples run and say what they should."""

from __future__ import annotations

import signal
import socket
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


def _read_line(sock: socket.socket) -> bytes:
    got = b""
    while not got.endswith((b"\n", b"? ")):
        chunk = sock.recv(1)
        if not chunk:
            break
        got += chunk
    return got


@pytest.mark.spec("serve.task-per-connection", "serve.shutdown", "stream.until")
def test_the_chat_server_broadcasts_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "chat.py"), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        port = int(banner.split()[-1])
        alice = socket.create_connection(("127.0.0.1", port), timeout=10)
        bob = socket.create_connection(("127.0.0.1", port), timeout=10)
        with alice, bob:
            assert _read_line(alice) == b"name? "
            alice.sendall(b"alice\n")
            assert _read_line(bob) == b"name? "
            bob.sendall(b"bob\n")
            assert _read_line(alice) == b"* bob joined\n"
            alice.sendall(b"hello\n")
            assert _read_line(bob) == b"<alice> hello\n"
            bob.sendall(b"x" * 70_000 + b"\n")
            assert _read_line(bob) == b"* line too long, bye\n"
            assert _read_line(alice) == b"* bob left\n"
            proc.send_signal(signal.SIGINT)
            assert _read_line(alice) == b""  # the server closed the connection
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out == "bye\n"
    assert "Traceback" not in err
