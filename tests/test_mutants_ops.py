"""The socket operations and sleeps, as mutation testing found them
under-tested (docs/mutation.md, refloop/_ops.py): the errors name the
operation, the budget holds for every operation, sendall sends every byte of
any buffer, a close from another loop's task wakes the waiter, negative
sleeps and idle waits."""

from __future__ import annotations

import array
import errno
import os
import socket
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

import refloop
from refloop import (
    ClosedError,
    Loop,
    LoopError,
    VirtualClock,
    accept,
    connect,
    recv,
    send,
    sendall,
    sleep,
    wait_idle,
)

Pair = tuple[socket.socket, socket.socket]


@pytest.fixture
def pair() -> Iterator[Pair]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def loops() -> Iterator[list[Loop]]:
    made: list[Loop] = []
    yield made
    for loop in made:
        loop.close()


def _first_step(coro: Coroutine[Any, Any, Any]) -> BaseException:
    """Step `coro` once and return what it raised."""
    try:
        coro.send(None)
    except BaseException as err:
        return err
    finally:
        coro.close()
    raise AssertionError(f"{coro!r} did not raise")


NAMES = ["recv", "send", "sendall", "accept", "connect"]


def _op(name: str, sock: socket.socket) -> Coroutine[Any, Any, Any]:
    if name == "recv":
        return recv(sock, 1)
    if name == "send":
        return send(sock, b"x")
    if name == "sendall":
        return sendall(sock, b"x")
    if name == "accept":
        return accept(sock)
    return connect(sock, ("127.0.0.1", 1))


def _ops(sock: socket.socket) -> dict[str, Coroutine[Any, Any, Any]]:
    return {name: _op(name, sock) for name in NAMES}


@pytest.mark.spec("op.nonblocking")
def test_each_operation_outside_a_task_is_refused_by_its_name(pair: Pair) -> None:
    for name, coro in _ops(pair[0]).items():
        err = _first_step(coro)
        assert isinstance(err, LoopError)
        assert str(err) == f"{name}() must be awaited inside a refloop task"
    for name, coro in {"sleep": sleep(1.0), "wait_idle": wait_idle()}.items():
        err = _first_step(coro)
        assert isinstance(err, LoopError)
        assert str(err) == f"{name}() must be awaited inside a refloop task"


@pytest.mark.spec("op.nonblocking")
def test_an_operation_in_a_loop_callback_is_refused_too(
    pair: Pair, loops: list[Loop]
) -> None:
    """A loop is running, but no task: a timer callback is not a task."""
    loop = Loop(clock=VirtualClock())
    loops.append(loop)
    seen: list[BaseException] = []

    def callback() -> None:
        for coro in [*_ops(pair[0]).values(), sleep(1.0), wait_idle()]:
            seen.append(_first_step(coro))

    loop.call_later(0.0, callback)
    loop.run_once(0)
    names = ["recv", "send", "sendall", "accept", "connect", "sleep", "wait_idle"]
    assert [str(e) for e in seen] == [
        f"{name}() must be awaited inside a refloop task" for name in names
    ]


@pytest.mark.spec("op.nonblocking")
def test_each_operation_on_a_blocking_socket_names_the_fix(
    pair: Pair, loops: list[Loop]
) -> None:
    pair[0].setblocking(True)
    loop = Loop()
    loops.append(loop)
    errors: list[str] = []

    async def main() -> None:
        for coro in _ops(pair[0]).values():
            with pytest.raises(ValueError) as caught:
                await coro
            errors.append(str(caught.value))

    loop.run(main())
    assert len(errors) == 5
    for text in errors:
        assert text == (
            f"{pair[0]!r} is in blocking mode; refloop needs non-blocking "
            "sockets: call sock.setblocking(False) first"
        )


@pytest.mark.spec("io.closed.rejects")
def test_each_operation_on_a_closed_socket_names_itself(loops: list[Loop]) -> None:
    loop = Loop()
    loops.append(loop)
    seen: dict[str, str] = {}

    async def main() -> None:
        for name in ["recv", "send", "sendall", "accept", "connect"]:
            sock = socket.socket()
            sock.setblocking(False)
            sock.close()
            # _enter reads sock.timeout, which a closed socket still has.
            with pytest.raises(ClosedError) as caught:
                await _op(name, sock)
            seen[name] = str(caught.value)

    loop.run(main())
    for name, text in seen.items():
        assert text.startswith(f"{name}() on ") and text.endswith(", which is closed")


@pytest.mark.spec("io.closed.rejects")
def test_a_descriptor_closed_behind_the_sockets_back_is_the_oss_error(
    loops: list[Loop],
) -> None:
    """EBADF on a socket that still has its number is not 'closed through
    refloop': the OSError goes out as it is."""
    loop = Loop()
    loops.append(loop)
    a, b = socket.socketpair()
    a.setblocking(False)
    os.close(a.fileno())

    async def main() -> OSError:
        with pytest.raises(OSError) as caught:
            await recv(a, 1)
        return caught.value

    try:
        err = loop.run(main())
    finally:
        a.detach()
        b.close()
    assert type(err) is OSError
    assert not isinstance(err, ClosedError)


@pytest.mark.spec("op.budget")
def test_send_accept_and_connect_yield_when_the_budget_is_spent(
    loops: list[Loop],
) -> None:
    loop = Loop(budget=1)
    loops.append(loop)
    log: list[str] = []
    listener = socket.socket()
    listener.setblocking(False)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    address = listener.getsockname()
    a, b = socket.socketpair()
    a.setblocking(False)
    clients = []
    for _ in range(2):
        client = socket.socket()
        client.connect(address)
        clients.append(client)

    async def greedy() -> None:
        for _ in range(2):
            await send(a, b"x")
            log.append("send")
        for _ in range(2):
            conn, _ = await accept(listener)
            conn.close()
            log.append("accept")
        for _ in range(2):
            sock = socket.socket()
            sock.setblocking(False)
            await connect(sock, address)
            sock.close()
            log.append("connect")

    async def other() -> None:
        while len(log) < 30 and log.count("connect") < 2:
            log.append("other")
            await refloop.yield_now()

    async def main() -> None:
        first = refloop.spawn(greedy())
        second = refloop.spawn(other())
        await first.join()
        await second.join()

    try:
        loop.run(main())
    finally:
        for sock in [listener, a, b, *clients]:
            sock.close()
    # with a budget of one, every operation after the first yields first
    greedy_ops = [entry for entry in log if entry != "other"]
    assert greedy_ops == ["send"] * 2 + ["accept"] * 2 + ["connect"] * 2
    for i in range(1, len(log)):
        if log[i] != "other" and log[i - 1] != "other":
            pytest.fail(f"two operations in a row without yielding: {log}")


@pytest.mark.spec("op.sendall")
def test_sendall_sends_every_byte_of_a_buffer_of_wide_items(
    pair: Pair, loops: list[Loop]
) -> None:
    """An array of 4-byte ints larger than the socket's buffer: the count
    and the rest to send are in bytes, not items."""
    a, b = pair
    loop = Loop()
    loops.append(loop)
    data = array.array("i", range(1 << 18))
    expected = data.tobytes()
    got = bytearray()

    async def reader() -> None:
        while len(got) < len(expected):
            got.extend(await recv(b, 65536))

    async def main() -> None:
        task = refloop.spawn(reader())
        await sendall(a, data)
        await task.join()

    loop.run(main())
    assert bytes(got) == expected


@pytest.mark.spec("op.connect.resolved")
def test_connect_names_the_host_it_cannot_use(loops: list[Loop]) -> None:
    loop = Loop()
    loops.append(loop)
    sock = socket.socket()
    sock.setblocking(False)

    async def main() -> str:
        with pytest.raises(ValueError) as caught:
            await connect(sock, "localhost")  # not even an address tuple
        return str(caught.value)

    try:
        text = loop.run(main())
    finally:
        sock.close()
    assert text == (
        "connect() needs a numeric address, got host 'localhost': name "
        "resolution would block the loop; resolve it first"
    )


class _RefusedLater(socket.socket):
    """A connect that is in progress, then fails with ECONNREFUSED (as one
    to a remote host does; on loopback Linux refuses at once)."""

    def connect(self, address: Any) -> None:
        raise BlockingIOError(errno.EINPROGRESS, "in progress")

    def getsockopt(self, *args: Any) -> int:  # type: ignore[override]
        return errno.ECONNREFUSED


@pytest.mark.spec("op.connect.error")
def test_a_connection_refused_after_the_wait_names_the_address(
    loops: list[Loop],
) -> None:
    loop = Loop()
    loops.append(loop)
    sock = _RefusedLater()
    sock.setblocking(False)

    async def main() -> OSError:
        with pytest.raises(OSError) as caught:
            await connect(sock, ("127.0.0.1", 9))
        return caught.value

    try:
        err = loop.run(main())
    finally:
        sock.close()
    assert isinstance(err, ConnectionRefusedError)
    assert err.strerror == "connect to ('127.0.0.1', 9): Connection refused"


@pytest.mark.spec("io.close.anywhere")
def test_a_close_in_another_loops_task_wakes_the_socket_waiter(
    pair: Pair, loops: list[Loop]
) -> None:
    a, _ = pair
    first, second = Loop(), Loop()
    loops += [first, second]

    async def waiter() -> BaseException | None:
        try:
            await recv(a, 1)
        except ClosedError as err:
            return err
        return None

    task = first.spawn(waiter())
    first.run_once(0)
    assert first.snapshot().waiters

    async def closer() -> None:
        refloop.close(a)

    second.run(closer())
    assert not first.snapshot().waiters
    first.run_once(0)
    assert task.done() and isinstance(task.result(), ClosedError)


@pytest.mark.spec("timer.sleep")
def test_a_negative_sleep_waits_for_the_next_timers_in_the_order_made(
    loops: list[Loop],
) -> None:
    """sleep(-5) is sleep(0): it does not jump ahead of a sleep(0) made
    before it."""
    clock = VirtualClock()
    loop = Loop(clock=clock)
    loops.append(loop)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await sleep(seconds)
        woke.append(name)

    loop.spawn(sleeper("zero", 0.0))
    loop.spawn(sleeper("negative", -5.0))
    loop.run_once(0)
    assert [t.when for t in loop.snapshot().timers] == [0.0, 0.0]
    loop.run_once(0)
    assert woke == ["zero", "negative"]


@pytest.mark.spec("timer.sleep")
def test_a_sleep_under_a_second_waits_its_time_and_its_timer_names_its_task(
    loops: list[Loop],
) -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    loops.append(loop)
    task = loop.spawn(sleep(0.5))
    loop.run_once(0)
    (timer,) = loop.snapshot().timers
    assert timer.when == 0.5 and timer.task is task
    clock.advance(0.25)
    loop.run_once(0)
    assert not task.done()
    clock.advance(0.25)
    loop.run_once(0)
    assert task.done()


@pytest.mark.spec("timer.validate")
def test_a_bad_sleep_names_sleeps_argument(loops: list[Loop]) -> None:
    loop = Loop()
    loops.append(loop)

    async def main() -> str:
        with pytest.raises(ValueError) as caught:
            await sleep(float("nan"))
        return str(caught.value)

    assert loop.run(main()) == (
        "sleep() seconds must be a finite number of seconds (or inf: never), got nan"
    )


@pytest.mark.spec("idle")
def test_wait_idle_resumes_when_idle_and_a_cancel_withdraws_its_idle_call(
    loops: list[Loop],
) -> None:
    loop = Loop(clock=VirtualClock())
    loops.append(loop)
    log: list[str] = []

    async def idler(name: str) -> None:
        await wait_idle()
        log.append(name)

    kept = loop.spawn(idler("kept"))
    gone = loop.spawn(idler("gone"))
    loop.run_once(0)
    idle = loop.snapshot().idle
    assert [view.task for view in idle] == [kept, gone]
    gone.cancel()
    loop.run_once(0)
    assert gone.done() and [view.task for view in loop.snapshot().idle] == [kept]
    loop.run_once(0)
    assert log == ["kept"] and kept.done()
    assert not loop.snapshot().idle
