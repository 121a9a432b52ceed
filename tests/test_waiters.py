"""Unit tests for the waiters the socket operations park: one per socket
and direction, and what closing a socket does to them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from _helpers import Pair, RegistrationSpy, drain, fill

import refloop
from refloop import (
    BusyError,
    ClosedError,
    Loop,
    accept,
    connect,
    recv,
    send,
    sendall,
)

# ---------------------------------------------------------- one per direction


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_second_reader_gets_busy_error_naming_socket_and_holder(
    loop: Loop, pair: Pair
) -> None:
    a, b = pair
    errors: list[BusyError] = []

    async def second() -> None:
        with pytest.raises(BusyError) as info:
            await recv(a, 10)
        errors.append(info.value)

    first = loop.spawn(recv(a, 10), name="first-reader")
    loop.spawn(second(), name="second-reader")
    loop.run_once(0)
    (error,) = errors
    message = str(error)
    assert repr(a) in message
    assert repr(first) in message
    assert "'first-reader'" in message
    # the holder keeps its place
    assert [(w.task, w.direction) for w in loop.waiters()] == [(first, "read")]
    b.send(b"for first")
    loop.run_once(0)
    assert first.result() == b"for first"


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_second_writer_gets_busy_error(loop: Loop, pair: Pair) -> None:
    a, b = pair
    fill(a)
    errors: list[BusyError] = []

    async def second() -> None:
        with pytest.raises(BusyError, match="already has a writer") as info:
            await send(a, b"2")
        errors.append(info.value)

    first = loop.spawn(send(a, b"1"), name="first-writer")
    loop.spawn(second())
    loop.run_once(0)
    (error,) = errors
    assert repr(a) in str(error)
    assert "'first-writer'" in str(error)
    drain(b)
    loop.run_once(0)
    assert first.result() == 1


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_reader_and_a_writer_may_share_a_socket(loop: Loop, pair: Pair) -> None:
    a, b = pair
    fill(a)
    reader = loop.spawn(recv(a, 10))
    writer = loop.spawn(send(a, b"w"))
    loop.run_once(0)
    assert [w.direction for w in loop.waiters()] == ["read", "write"]
    drain(b)
    b.send(b"r")
    loop.run_once(0)
    assert reader.result() == b"r"
    assert writer.result() == 1


@pytest.mark.spec("io.wait.one-per-direction", "io.wait")
def test_the_direction_is_free_again_once_the_waiter_is_woken(
    loop: Loop, pair: Pair
) -> None:
    a, b = pair
    first = loop.spawn(recv(a, 10))
    loop.run_once(0)
    b.send(b"one")
    loop.run_once(0)
    assert first.result() == b"one"
    second = loop.spawn(recv(a, 10))
    loop.run_once(0)
    assert [w.task for w in loop.waiters()] == [second]
    b.send(b"two")
    loop.run_once(0)
    assert second.result() == b"two"


# ------------------------------------------------------------------ closing


@pytest.mark.spec("io.closed.rejects")
@pytest.mark.parametrize("op", ["recv", "send", "sendall", "accept", "connect"])
def test_an_operation_on_a_socket_closed_through_refloop(
    loop: Loop, tcp: Callable[[], socket.socket], op: str
) -> None:
    sock = tcp()

    async def main() -> None:
        refloop.close(sock)
        if op == "recv":
            await recv(sock, 1)
        elif op == "send":
            await send(sock, b"x")
        elif op == "sendall":
            await sendall(sock, b"x")
        elif op == "accept":
            await accept(sock)
        else:
            await connect(sock, ("127.0.0.1", 9))

    with pytest.raises(ClosedError, match="closed") as info:
        loop.run(main())
    assert isinstance(info.value, OSError)
    assert repr(sock) in str(info.value)


@pytest.mark.spec("io.close.wakes", "io.wait")
def test_closing_wakes_every_waiter_oldest_first(loop: Loop, pair: Pair) -> None:
    a, _ = pair
    fill(a)
    log: list[str] = []
    messages: list[str] = []

    async def waiter(name: str, op: Any) -> None:
        try:
            await op
        except ClosedError as err:
            log.append(name)
            messages.append(str(err))

    async def closer() -> None:
        refloop.close(a)
        log.append("closer goes on")

    loop.spawn(waiter("writer", send(a, b"w")))
    loop.spawn(waiter("reader", recv(a, 1)))
    loop.run_once(0)
    assert len(loop.waiters()) == 2
    description = repr(a)
    loop.spawn(closer())
    loop.run_once(0)
    assert log == ["closer goes on"]
    assert loop.waiters() == []
    loop.run_once(0)
    assert log == ["closer goes on", "writer", "reader"]
    for message in messages:
        assert f"{description} was closed" in message
    assert a.fileno() == -1


@pytest.mark.spec("io.close.unregister-first")
def test_close_unregisters_before_closing_the_descriptor(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, _ = pair
    spy = RegistrationSpy()
    loop = make_loop(selector=spy)
    fd = a.fileno()
    reader = loop.spawn(recv(a, 1))
    loop.run_once(0)
    loop.run_once(0)  # the registration reaches the selector
    assert spy.registered == [fd]

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(closer())
    loop.run_once(0)
    loop.run_once(0)
    assert spy.unregistered == [(fd, True)]
    assert a.fileno() == -1
    assert isinstance(reader.exception(), ClosedError)


@pytest.mark.spec("io.close.wakes")
def test_closing_twice_and_outside_a_loop_is_harmless(pair: Pair) -> None:
    a, _ = pair
    refloop.close(a)
    refloop.close(a)
    assert a.fileno() == -1

    async def main() -> None:
        refloop.close(a)

    refloop.run(main())
