"""Ctrl-C while run() runs, in a child process so the test runner's own
signal handling is untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import os, signal, socket, threading
    import refloop

    a, b = socket.socketpair()
    a.setblocking(False)
    cleaned = []

    async def reader():
        try:
            await refloop.recv(a, 1)
        finally:
            cleaned.append("reader")

    async def main():
        refloop.spawn(reader())
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            await refloop.sleep(30)
        finally:
            cleaned.append("main")

    try:
        refloop.run(main())
    except KeyboardInterrupt:
        restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        print("interrupted", sorted(cleaned), a.fileno(), restored)
    """
)


@pytest.mark.spec("loop.sigint")
def test_ctrl_c_cancels_tasks_closes_sockets_and_raises() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "['main',", "'reader']", "-1", "True"]


AWAITING_CLEANUP = textwrap.dedent(
    """
    import os, signal, threading
    import refloop

    cleaned = []

    async def worker():
        try:
            await refloop.sleep(30)
        finally:
            await refloop.sleep(0.05)
            cleaned.append("worker")

    async def main():
        refloop.spawn(worker())
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        await refloop.sleep(30)

    try:
        refloop.run(main())
    except KeyboardInterrupt:
        print("interrupted", cleaned)
    """
)


@pytest.mark.spec("loop.sigint", "loop.shutdown")
def test_ctrl_c_lets_cleanup_that_awaits_finish() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AWAITING_CLEANUP],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["interrupted", "['worker']"]
