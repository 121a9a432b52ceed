"""The examples run and say what they should."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
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
            # Alice is among the clients once the server has read her name;
            # the server says nothing then, so give it a moment (bob's
            # prompt may come first: that raced, once in CI).
            time.sleep(0.3)
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


def _readme_example() -> str:
    readme = (EXAMPLES.parent / "README.md").read_text()
    start = readme.index("```python\n", readme.index("## Example")) + 10
    return readme[start : readme.index("```\n", start)]


def test_the_readme_example_is_examples_broadcast() -> None:
    assert (EXAMPLES / "broadcast.py").read_text().endswith(_readme_example())


@pytest.mark.spec("serve.task-per-connection", "stream.until")
def test_the_readme_example_broadcasts_each_line_to_the_others(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "broadcast.py"
    script.write_text(_readme_example().replace("8007", str(port)))
    server = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    try:
        clients = []
        for _ in range(100):
            try:
                clients.append(socket.create_connection(("127.0.0.1", port), 5))
                break
            except ConnectionRefusedError:
                server.poll()
                assert server.returncode is None, server.stderr
                time.sleep(0.05)
        clients += [socket.create_connection(("127.0.0.1", port), 5) for _ in "bc"]
        a, b, c = clients
        for peer in (a, b, c):
            peer.settimeout(5)
        # Each connection's task has joined `clients` once it has run: a
        # moment on loopback; the assertions below wait for data, not time.
        time.sleep(0.3)
        a.sendall(b"hello\n")
        assert _read_line(b) == b"hello\n" and _read_line(c) == b"hello\n"
        a.settimeout(0.2)
        with pytest.raises(TimeoutError):
            a.recv(1)  # the sender does not get its own line
        for peer in clients:
            peer.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(10)
