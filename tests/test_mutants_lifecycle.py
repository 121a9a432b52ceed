"""How a loop runs to an end and closes, as mutation testing found it
under-tested (docs/mutation.md, refloop/_lifecycle.py): Ctrl-C during
run(), here in the test's own process (tests/test_sigint.py runs it in a
child interpreter, which mutmut's tree cannot), and the doors' refusals."""

from __future__ import annotations

import contextlib
import inspect
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from _helpers import refused_from_another_thread

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


@pytest.mark.spec("loop.sigint")
@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_while_the_loop_waits_in_its_poll_wakes_it(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    async def main() -> None:
        kill = threading.Timer(0.05, signal.pthread_kill, (main_thread, signal.SIGINT))
        kill.start()
        await refloop.sleep(30)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        loop.run(main(), grace=1.0)
    assert time.monotonic() - start < 10


@pytest.mark.spec("loop.sigint", "loop.shutdown.report")
@pytest.mark.usefixtures("default_sigint")
def test_after_ctrl_c_refloop_run_gives_a_stubborn_task_one_grace_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> None:
        while True:
            with contextlib.suppress(refloop.Cancelled):
                await refloop.sleep(30)

    async def main() -> None:
        refloop.spawn(stubborn(), name="stubborn")
        await refloop.yield_now()
        signal.raise_signal(signal.SIGINT)
        await refloop.sleep(30)

    with (
        caplog.at_level(logging.WARNING, logger="refloop"),
        pytest.raises(KeyboardInterrupt),
    ):
        refloop.run(main(), grace=0.125)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # Wound down once, with run()'s grace; then closed, not shut down again.
    assert len(warnings) == 1
    # (the record formats the task when it is read: it has been abandoned)
    assert warnings[0].startswith("<Task 1 'stubborn' failed> did not finish")
    assert warnings[0].endswith(
        " within the shutdown grace period of 0.125s after it was cancelled"
    )


def test_each_way_of_running_refuses_another_thread_by_its_name(loop: Loop) -> None:
    doors: dict[str, Callable[[], object]] = {
        "stop()": loop.stop,
        "close()": loop.close,
        "run_forever()": loop.run_forever,
        "shutdown()": loop.shutdown,
    }
    for name, door in doors.items():
        refused = refused_from_another_thread(door)
        assert isinstance(refused, LoopError)
        assert str(refused).startswith(f"{name} was called from thread "), name
    # Refused, each left the loop as it was: not closed, not stopping.
    assert not loop._closed and not loop._stopping


@pytest.mark.spec("loop.no-nesting")
def test_running_inside_a_running_loop_is_refused_by_name(loop: Loop) -> None:
    seen: list[str] = []

    async def inner() -> None:
        pass

    async def main() -> None:
        for door in (loop.run_forever, lambda: loop.shutdown(0)):
            try:
                door()
            except LoopError as err:
                seen.append(str(err))
        coro = inner()
        try:
            loop.run(coro)
        except LoopError as err:
            seen.append(str(err).replace(repr(loop), "LOOP"))
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        try:
            refloop.run(inner())
        except LoopError as err:
            seen.append(str(err))

    loop.run(main())
    assert seen[0].endswith(" is already running; run_forever() cannot nest")
    assert seen[1].endswith(" is already running; shutdown() cannot nest")
    assert seen[2:] == [
        "LOOP.run() cannot be called inside a running loop",
        "refloop.run() cannot be called from inside a running loop",
    ]


@pytest.mark.spec("loop.shutdown")
def test_a_refused_grace_is_named_and_closes_the_coroutine(loop: Loop) -> None:
    async def main() -> None:
        pass

    for grace, kind in (("soon", TypeError), (float("nan"), ValueError)):
        coro = main()
        with pytest.raises(kind) as caught:
            loop.run(coro, grace=grace)  # type: ignore[arg-type]
        assert str(caught.value).startswith("grace must be a ")
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    assert loop.tasks() == []


@pytest.mark.spec("loop.run.deadlock")
def test_a_pending_timer_or_posted_call_that_cancels_the_joined_task_is_no_deadlock(
    loop: Loop,
) -> None:
    def drop(k: refloop.Continuation) -> None:
        pass  # nobody keeps k: only a cancel can resume the task

    async def forgotten() -> None:
        await refloop.suspend(drop)

    async def main() -> list[str]:
        seen: list[str] = []
        for how in ("timer", "posted"):
            other = refloop.spawn(forgotten())
            await refloop.yield_now()
            if how == "timer":
                loop.call_later(0.01, other.cancel)
            else:
                loop.call_soon_threadsafe(other.cancel)
            try:
                await other.join()
            except refloop.Cancelled:
                seen.append(how)
        return seen

    assert loop.run(main()) == ["timer", "posted"]


@pytest.mark.spec("loop.close", "loop.close.raises")
def test_close_logs_what_it_could_not_undo_and_says_why_tasks_ended(
    loop: Loop, caplog: pytest.LogCaptureFixture
) -> None:
    def refuses_to_let_go() -> None:
        raise RuntimeError("on_cancel failed")

    def park_oddly(k: refloop.Continuation) -> None:
        k.on_cancel = refuses_to_let_go
        held.append(k)

    held: list[refloop.Continuation] = []

    async def odd() -> None:
        await refloop.suspend(park_oddly)

    async def raises_in_finally(error: BaseException) -> None:
        try:
            await refloop.sleep(30)
        finally:
            raise error

    async def plain() -> None:
        await refloop.sleep(30)

    oddly = loop.spawn(odd(), name="odd")
    first = loop.spawn(raises_in_finally(KeyboardInterrupt()), name="first")
    second = loop.spawn(raises_in_finally(KeyboardInterrupt()), name="second")
    third = loop.spawn(raises_in_finally(ValueError("no")), name="third")
    quiet = loop.spawn(plain(), name="quiet")
    loop.run_once(0)
    names = {task.name: repr(task) for task in (oddly, second, third)}
    quiet_repr = repr(quiet)
    with (
        caplog.at_level(logging.ERROR, logger="refloop"),
        pytest.raises(KeyboardInterrupt),
    ):
        loop.close()
    messages = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    # (each record formats its task when read: every task has ended by then)
    odd_repr = names["odd"].replace("waiting", "failed")
    assert (f"undoing the parking of {odd_repr} failed", True) in messages
    assert (
        f"{names['second'].replace('waiting', 'failed')} did not stop "
        "when its loop closed",
        True,
    ) in messages
    assert (
        f"{names['third'].replace('waiting', 'failed')} did not stop "
        "when its loop closed",
        True,
    ) in messages
    assert len(messages) == 3
    error = quiet.exception()
    assert isinstance(error, LoopError)
    assert str(error).startswith("<refloop.Loop closed ")
    assert str(error).endswith(f"> closed before {quiet_repr} finished")
    assert first.done() and second.done() and third.done()


@pytest.mark.spec("loop.run", "loop.stop")
def test_is_running_is_a_bool_inside_and_after_each_way_of_running(
    loop: Loop,
) -> None:
    seen: list[object] = []

    async def look() -> None:
        seen.append(loop.is_running())

    async def look_and_stop() -> None:
        seen.append(loop.is_running())
        loop.stop()

    assert loop.is_running() is False
    loop.run(look())
    seen.append(loop.is_running())
    loop.spawn(look_and_stop())
    loop.run_forever()
    seen.append(loop.is_running())
    loop.spawn(look())
    loop.run_once(0)
    seen.append(loop.is_running())
    loop.shutdown(0)
    seen.append(loop.is_running())
    # True while it runs, False (not merely falsy) once each way has ended.
    assert [type(x) for x in seen] == [bool] * 7
    assert seen == [True, False, True, False, True, False, False]
