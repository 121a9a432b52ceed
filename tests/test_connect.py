"""open_tcp_connection over loopback (spec: connect.*)."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _helpers import open_fds

import refloop
from refloop import Stream


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def blackhole() -> Iterator[tuple[str, int]]:
    """A loopback address whose connects hang: a listener with backlog 0
    whose accept queue is full, so the kernel drops new SYNs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    address = sock.getsockname()
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(address)
        fillers.append(c)
    time.sleep(0.05)
    yield address
    for c in fillers:
        c.close()
    sock.close()


async def echo_once(listener: socket.socket) -> None:
    conn, _ = await refloop.accept(listener)
    async with Stream(conn) as s:
        await s.send_all(await s.readline())


async def round_trip(listener: socket.socket, host: str) -> bytes:
    port = listener.getsockname()[1]
    server = refloop.spawn(echo_once(listener))
    async with await refloop.open_tcp_connection(host, port) as s:
        await s.send_all(b"ping\n")
        line = await s.readline()
    await server.join()
    return line


@pytest.mark.spec("connect.resolve-in-thread", "connect.order")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_connects_over_ipv4_and_by_name(listener: socket.socket, host: str) -> None:
    assert refloop.run(round_trip(listener, host)) == b"ping\n"


@pytest.mark.spec("connect.order")
@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_connects_over_ipv6() -> None:
    sock = socket.create_server(("::1", 0), family=socket.AF_INET6)
    sock.setblocking(False)
    with sock:
        assert refloop.run(round_trip(sock, "::1")) == b"ping\n"


@pytest.mark.spec("connect.errors", "connect.no-leak")
def test_a_refused_port_names_the_address_and_leaks_nothing() -> None:
    port = free_port()
    before = open_fds()

    async def main() -> OSError:
        with pytest.raises(ConnectionRefusedError) as info:
            await refloop.open_tcp_connection("127.0.0.1", port)
        return info.value

    err = refloop.run(main())
    assert f"('127.0.0.1', {port})" in str(err) and "1 address(es)" in str(err)
    assert err.errno == errno.ECONNREFUSED
    assert isinstance(err.__cause__, ExceptionGroup)
    assert open_fds() == before


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, addresses: list[tuple[int, tuple[Any, ...]]]
) -> list[int]:
    calls: list[int] = []

    def getaddrinfo(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(threading.get_ident())
        return [
            (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)
            for family, address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.mark.spec("connect.errors", "connect.order")
@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_every_failure_is_reported_in_the_order_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v4, v4b = free_port(), free_port()
    v6 = free_port(socket.AF_INET6, "::1")
    fake_resolver(
        monkeypatch,
        [
            (socket.AF_INET, ("127.0.0.1", v4)),
            (socket.AF_INET, ("127.0.0.1", v4b)),
            (socket.AF_INET6, ("::1", v6, 0, 0)),
        ],
    )
    before = open_fds()

    async def main() -> OSError:
        with pytest.raises(OSError) as info:
            await refloop.open_tcp_connection("example", 80)
        return info.value

    err = refloop.run(main())
    text = str(err)
    # Interleaved by family: v4, v6, then the second v4.
    first, second, third = (
        text.index(f"('127.0.0.1', {v4})"),
        text.index(f"('::1', {v6}, 0, 0)"),
        text.index(f"('127.0.0.1', {v4b})"),
    )
    assert first < second < third and "3 address(es)" in text
    assert isinstance(err, ConnectionRefusedError)
    assert isinstance(err.__cause__, ExceptionGroup)
    assert len(err.__cause__.exceptions) == 3
    assert open_fds() == before


@pytest.mark.spec("connect.resolve-in-thread")
def test_resolution_runs_in_a_thread_while_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    real = socket.getaddrinfo
    threads: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)

    async def main() -> int:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await refloop.sleep(0.01)

        ticking = refloop.spawn(ticker())
        server = refloop.spawn(echo_once(listener))
        s = await refloop.open_tcp_connection("localhost", port)
        done = True
        s.close()
        server.cancel()
        await ticking.join()
        return ticks

    assert refloop.run(main()) >= 10
    assert threads and threads[0] != threading.get_ident()


@pytest.mark.spec("connect.resolve-in-thread")
def test_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    async def main() -> None:
        await refloop.open_tcp_connection("nowhere.invalid", 80)

    with pytest.raises(socket.gaierror, match=r"cannot resolve 'nowhere\.invalid'"):
        refloop.run(main())


@pytest.mark.spec("connect.stagger", "connect.no-leak")
def test_a_hanging_attempt_is_overtaken_after_the_delay_and_closed(
    monkeypatch: pytest.MonkeyPatch,
    listener: socket.socket,
    blackhole: tuple[str, int],
) -> None:
    fake_resolver(
        monkeypatch,
        [(socket.AF_INET, blackhole), (socket.AF_INET, listener.getsockname())],
    )
    before = open_fds()

    async def main() -> tuple[float, Any]:
        loop = refloop.current_loop()
        server = refloop.spawn(echo_once(listener))
        start = loop.time()
        s = await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0.1)
        elapsed = loop.time() - start
        peer = s.socket.getpeername()
        await s.send_all(b"hi\n")
        assert await s.readline() == b"hi\n"
        s.close()
        await server.join()
        return elapsed, peer

    elapsed, peer = refloop.run(main())
    assert peer == listener.getsockname()
    assert 0.1 <= elapsed < 0.5
    assert open_fds() == before  # the hanging attempt's socket was closed


@pytest.mark.spec("connect.stagger")
def test_a_failed_attempt_starts_the_next_without_waiting(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    fake_resolver(
        monkeypatch,
        [
            (socket.AF_INET, ("127.0.0.1", free_port())),
            (socket.AF_INET, listener.getsockname()),
        ],
    )

    async def main() -> float:
        loop = refloop.current_loop()
        server = refloop.spawn(echo_once(listener))
        start = loop.time()
        s = await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=30)
        elapsed = loop.time() - start
        s.close()
        server.cancel()
        return elapsed

    assert refloop.run(main()) < 1.0


@pytest.mark.spec("connect.no-leak")
def test_a_timeout_around_the_race_closes_every_attempt(
    monkeypatch: pytest.MonkeyPatch, blackhole: tuple[str, int]
) -> None:
    fake_resolver(monkeypatch, [(socket.AF_INET, blackhole)] * 3)
    before = open_fds()

    async def main() -> list[refloop.Waiter]:
        with pytest.raises(TimeoutError), refloop.timeout(0.15):
            await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0.05)
        return refloop.current_loop().waiters()

    assert refloop.run(main()) == []
    assert open_fds() == before


@pytest.mark.spec("connect.resolve-in-thread", "connect.stagger")
@pytest.mark.parametrize(
    ("args", "kwargs", "kind", "complaint"),
    [
        (("127.0.0.1", 0), {}, ValueError, "port from 1 to 65535"),
        (("127.0.0.1", 65536), {}, ValueError, "port from 1 to 65535"),
        (("127.0.0.1", True), {}, ValueError, "port from 1 to 65535"),
        (("", 80), {}, TypeError, "host name or address"),
        ((None, 80), {}, TypeError, "host name or address"),
        (("h", 80), {"happy_eyeballs_delay": -1}, ValueError, ">= 0"),
        (("h", 80), {"happy_eyeballs_delay": float("nan")}, ValueError, "finite"),
        (("h", 80), {"max_line": 0}, ValueError, "max_line"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    kind: type[Exception],
    complaint: str,
) -> None:
    calls = fake_resolver(monkeypatch, [])

    async def main() -> None:
        await refloop.open_tcp_connection(*args, **kwargs)

    with pytest.raises(kind, match=complaint):
        refloop.run(main())
    assert calls == []
