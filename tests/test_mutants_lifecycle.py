"""How a loop runs to an end and closes, as mutation testing found it
under-tested (docs/mutation.md, refloop/_lifecycle.py): Ctrl-C during
run(), here in the test's own process (tests/test_sigint.py runs it in a
child interpreter, which mutmut's tree cannot), and the doors' refusals."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

import refloop
from refloop import Loop, LoopError


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler for the test (what loop.sigint needs),
    and whatever was there before afterwards."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.spec("loop.sigint")
@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_in_run_cancels_cleans_up_closes_the_sockets_and_raises(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    cleaned: list[str] = []

    async def reader() -> None:
        try:
            await refloop.recv(a, 1)
        finally:
            cleaned.append("reader")

    async def main() -> None:
        refloop.spawn(reader(), name="reader")
        await refloop.yield_now()
        try:
            signal.raise_signal(signal.SIGINT)
            await refloop.sleep(30)
        finally:
            # The grace period lets cleanup await.
            await refloop.yield_now()
            cleaned.append("main")

    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run(main(), grace=1.0)
        assert sorted(cleaned) == ["main", "reader"]
        # The socket the reader waited on is closed, and the handler restored.
        assert a.fileno() == -1
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert loop.tasks() == []
        assert loop.waiters() == []
    finally:
        a.close()
        b.close()


@pytest.mark.spec("thread.owner")
def test_stop_from_another_thread_is_refused_by_its_name(loop: Loop) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            loop.stop()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="intruder")
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert isinstance(errors[0], LoopError)
    assert str(errors[0]).startswith("stop() was called from thread ")
