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


FROM_A_THREAD = textwrap.dedent(
    """
    import _thread, signal, socket, sys, threading, time
    import refloop
    from refloop import _sigint

    how, deaf = sys.argv[1], sys.argv[2] == "deaf"
    if deaf:
        # The loop before the fix: the SIGINT handler without the wakeup fd.
        plain = _sigint.Interrupt.__init__
        _sigint.Interrupt.__init__ = lambda self, wake, fd=-1: plain(self, wake)
    a, b = socket.socketpair()
    a.setblocking(False)
    ctrl_c = {
        "raise_signal": lambda: signal.raise_signal(signal.SIGINT),
        "interrupt_main": _thread.interrupt_main,
    }[how]

    async def main():
        # Nothing due: the poll waits on `a` alone, until the watchdog
        # writes to it (a loop that is not woken ends there).
        for timer in threading.Timer(0.05, ctrl_c), threading.Timer(8, b.send, (b"x",)):
            timer.daemon = True
            timer.start()
        await refloop.recv(a, 1)

    started = time.monotonic()
    try:
        refloop.run(main())
    except KeyboardInterrupt:
        restored = signal.set_wakeup_fd(-1) == -1
        print("interrupted", round(time.monotonic() - started, 1), restored)
    """
)


def _ctrl_c_from_a_thread(how: str, deaf: bool) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FROM_A_THREAD, how, "deaf" if deaf else "fixed"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.spec("loop.sigint")
@pytest.mark.parametrize("how", ["raise_signal", "interrupt_main"])
def test_a_ctrl_c_another_thread_receives_wakes_the_waiting_poll(how: str) -> None:
    # Python runs the handler in the main thread only once it runs bytecode:
    # without the loop's wakeup socket as the signal wakeup fd, the poll slept
    # on (asyncio.run does too: its poll ends when its timeout does).
    word, seconds, restored = _ctrl_c_from_a_thread(how, deaf=False)
    assert word == "interrupted"
    assert float(seconds) < 4, f"woken after {seconds} s, not at once"
    assert restored == "True", "the wakeup fd was not given back"


@pytest.mark.spec("loop.sigint")
def test_the_test_catches_a_loop_deaf_to_a_ctrl_c_in_another_thread() -> None:
    word, seconds, _ = _ctrl_c_from_a_thread("raise_signal", deaf=True)
    assert word == "interrupted" and float(seconds) >= 4, seconds


SECOND = textwrap.dedent(
    """
    import gc, os, signal, socket, threading, time
    import refloop

    def descriptors():
        return set(os.listdir("/dev/fd"))

    before = descriptors()
    cleanup = []

    async def stubborn():
        try:
            await refloop.sleep(1000)
        except refloop.Cancelled:
            cleanup.append("began")
            while True:  # cleanup that never ends
                try:
                    await refloop.sleep(0.01)
                except refloop.Cancelled:
                    pass

    async def main():
        refloop.spawn(stubborn())
        for at in 0.05, 0.3:
            timer = threading.Timer(at, os.kill, (os.getpid(), signal.SIGINT))
            timer.daemon = True
            timer.start()
        await refloop.sleep(1000)

    started = time.monotonic()
    try:
        refloop.run(main(), grace=float("inf"))
    except KeyboardInterrupt:
        gc.collect()
        print(
            "interrupted",
            round(time.monotonic() - started, 1),
            cleanup,
            signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            signal.set_wakeup_fd(-1) == -1,
            sorted(descriptors() - before),
        )
    """
)


@pytest.mark.spec("loop.sigint")
def test_a_second_ctrl_c_ends_a_cleanup_that_never_ends() -> None:
    # grace=inf and a cleanup that never ends: only the second Ctrl-C stops
    # run(), at once, with Python's handler and wakeup fd given back and
    # none of the loop's descriptors left open.
    done = subprocess.run(
        [sys.executable, "-c", SECOND], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    word, seconds, *rest = done.stdout.split()
    assert word == "interrupted", done.stdout
    assert float(seconds) < 10, done.stdout
    assert rest == ["['began']", "True", "True", "[]"], done.stdout


OTHER_SIGNAL = textwrap.dedent(
    """
    import os, selectors, signal, sys, threading
    import refloop
    from refloop import _threads

    if sys.argv[1] == "deaf":
        # The loop before the fix: a byte with no posted call stays there.
        _threads.ThreadBridge.drain = lambda self: None

    class Counting(selectors.DefaultSelector):
        polls = 0

        def select(self, timeout=None):
            Counting.polls += 1
            return super().select(timeout)

    signal.signal(signal.SIGUSR1, lambda signum, frame: None)

    async def main():
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.daemon = True
        timer.start()
        await refloop.sleep(0.5)

    refloop.Loop(selector=Counting()).run(main())
    print(Counting.polls)
    """
)


def _polls_around_another_signal(deaf: bool) -> int:
    done = subprocess.run(
        [sys.executable, "-c", OTHER_SIGNAL, "deaf" if deaf else "fixed"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.spec("loop.sigint")
def test_another_signal_during_run_does_not_make_the_poll_spin() -> None:
    # While run() runs, the loop's wakeup socket is Python's signal wakeup
    # fd, so a SIGUSR1 with a Python handler writes a byte there with no
    # call posted: drained, it wakes one poll; left there, every poll of the
    # half-second sleep returned at once.
    polls = _polls_around_another_signal(deaf=False)
    assert polls <= 5, f"{polls} polls for one sleep and one signal"


@pytest.mark.spec("loop.sigint")
def test_the_test_catches_a_loop_that_leaves_a_signals_byte() -> None:
    assert _polls_around_another_signal(deaf=True) > 100
