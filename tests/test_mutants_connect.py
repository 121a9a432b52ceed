"""What connecting tells its caller, word for word, and what it asks of the
network (spec: connect.*, explore.net.door): the tests written for the
survivors of `tools/mutation.py run _connect` and `run _network`
(docs/mutation.md, "Fifth run (d)")."""

from __future__ import annotations

import errno
import inspect
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from _helpers import open_fds

import refloop
from refloop._network import Network, install, network


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


TCP = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


class Sock(socket.socket):
    """A kernel socket whose connect fails at once for the addresses in
    `refuse` (errno by address), as an unreachable network does."""

    refuse: dict[Any, int]

    def connect(self, address: Any) -> None:
        code = self.refuse.get(address)
        if code is not None:
            raise OSError(code, os.strerror(code))
        super().connect(address)


class Net:
    """A network that records what it is asked and answers `infos`."""

    def __init__(self, infos: list[tuple[Any, ...]], **refuse: int) -> None:
        self.infos = infos
        self.names: list[tuple[Any, ...]] = []
        self.sockets: list[tuple[int, int, int]] = []
        self.made: list[socket.socket] = []
        self.refuse = dict(refuse)

    def getaddrinfo(
        self,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, Any, int, str, Any]]:
        self.names.append((host, port, family, type, proto, flags))
        return [(f, k, p, "", a) for f, k, p, a in self.infos]

    def socket(self, family: int = -1, type: int = -1, proto: int = -1) -> Sock:
        self.sockets.append((family, type, proto))
        sock = Sock(family, type, proto)
        sock.refuse = {tuple(a): c for a, c in self.refuse.values()}  # type: ignore[misc]
        self.made.append(sock)
        return sock


def on(net: Net) -> None:
    install(refloop.current_loop(), net)


def failure(host: str, port: int, **kwargs: Any) -> OSError:
    """The error open_tcp_connection raises over the OS's network."""

    async def main() -> OSError:
        with pytest.raises(OSError) as info:
            await refloop.open_tcp_connection(host, port, **kwargs)
        return info.value

    return refloop.run(main())


# ---------------------------------------------------------------- _network


@pytest.mark.spec("explore.net.door")
def test_the_network_protocol_asks_what_the_socket_module_offers() -> None:
    # A network other than the OS's is called as socket.getaddrinfo and
    # socket.socket are, with the same defaults.
    def params(f: Any, skip: int) -> list[tuple[str, Any]]:
        found = list(inspect.signature(f).parameters.values())[skip:]
        return [(p.name, p.default) for p in found]

    assert params(Network.getaddrinfo, 1) == params(socket.getaddrinfo, 0)
    assert params(Network.socket, 1) == params(socket.socket.__init__, 1)[:3]


@pytest.mark.spec("explore.net.door")
def test_a_network_given_back_to_the_os_is_the_os_again(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]

    async def main() -> list[object]:
        loop = refloop.current_loop()
        install(loop, None)  # none installed: nothing to take back, no error
        net = Net([(*TCP, ("127.0.0.1", port))])
        install(loop, net)
        seen: list[object] = [network() is net]
        install(loop, None)
        seen.append(network())
        s = await refloop.open_tcp_connection("127.0.0.1", port)
        seen.append(net.names)  # the OS resolved it, not the removed network
        s.close()
        return seen

    assert refloop.run(main()) == [True, None, []]


@pytest.mark.spec("explore.net.door")
def test_outside_a_running_loop_there_is_no_network_of_a_loop() -> None:
    loop = refloop.Loop()
    try:
        install(loop, Net([]))
        assert network() is None
        # So a connection attempt outside a loop is refused as such.
        coro = refloop.open_tcp_connection("127.0.0.1", 80)
        refused = r"run_in_thread\(\) must be awaited inside a refloop task"
        with pytest.raises(refloop.LoopError, match=refused):
            coro.send(None)
        coro.close()
    finally:
        install(loop, None)
        loop.close()


# ------------------------------------------------------- what is asked


@pytest.mark.spec("explore.net.door", "connect.resolve-in-thread", "serve.listen")
def test_a_network_is_asked_for_stream_addresses_and_the_sockets_they_name(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    def no_os(*args: Any) -> Any:
        raise AssertionError("the OS resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", no_os)
    address = listener.getsockname()

    async def main() -> tuple[Net, Net]:
        net = Net([(*TCP, address)])
        on(net)
        s = await refloop.open_tcp_connection("example", 99)
        assert s.socket in net.made and s.socket.getpeername() == address
        s.close()
        serving = Net([(*TCP, ("127.0.0.1", 0))])
        on(serving)
        for sock in await refloop.open_tcp_listeners(0):
            sock.close()
        for sock in await refloop.open_tcp_listeners(0, host="127.0.0.1"):
            sock.close()
        return net, serving

    net, serving = refloop.run(main())
    assert net.names == [("example", 99, 0, socket.SOCK_STREAM, 0, 0)]
    assert net.sockets == [TCP]
    passive = (0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    assert serving.names == [(None, 0, *passive), ("127.0.0.1", 0, *passive)]
    assert serving.sockets == [TCP, TCP]


@pytest.mark.spec("connect.resolve-in-thread", "serve.listen")
def test_the_os_resolver_is_asked_for_stream_addresses(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    real = socket.getaddrinfo
    asked: list[tuple[Any, ...]] = []

    def recording(*args: Any) -> Any:
        asked.append(args)
        return real(*args)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    port = listener.getsockname()[1]

    async def main() -> list[int]:
        s = await refloop.open_tcp_connection("127.0.0.1", port)
        listeners = await refloop.open_tcp_listeners(0, host="127.0.0.1")
        protos = [s.socket.proto, listeners[0].proto]
        s.close()
        listeners[0].close()
        return protos

    # The socket is made with the resolver's protocol, TCP's number.
    assert refloop.run(main()) == [socket.IPPROTO_TCP, socket.IPPROTO_TCP]
    stream = (0, socket.SOCK_STREAM, 0)
    assert asked == [
        ("127.0.0.1", port, *stream, 0),
        ("127.0.0.1", 0, *stream, socket.AI_PASSIVE),
    ]


@pytest.mark.spec("connect.resolve-in-thread")
def test_a_name_that_does_not_resolve_keeps_the_resolvers_errno(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    err = failure("nowhere.invalid", 80)
    assert type(err) is socket.gaierror and err.errno == socket.EAI_NONAME
    assert str(err) == (
        f"[Errno {socket.EAI_NONAME}] cannot resolve 'nowhere.invalid': "
        "Name or service not known"
    )


# ------------------------------------------------------------ the words


@pytest.mark.spec("connect.resolve-in-thread", "connect.stagger")
@pytest.mark.parametrize(
    ("args", "kwargs", "kind", "text"),
    [
        (
            ("", 80),
            {},
            TypeError,
            "open_tcp_connection() needs a host name or address string, got ''",
        ),
        (
            ("h", 0),
            {},
            ValueError,
            "open_tcp_connection() needs a port from 1 to 65535, got 0",
        ),
        (
            ("h", 80),
            {"happy_eyeballs_delay": "soon"},
            TypeError,
            "happy_eyeballs_delay must be a number of seconds, got 'soon'",
        ),
        (
            ("h", 80),
            {"happy_eyeballs_delay": -0.5},
            ValueError,
            "happy_eyeballs_delay must be >= 0 (or None), got -0.5",
        ),
        (
            ("h", 80),
            {"max_line": 0},
            ValueError,
            "max_line must be an int >= 1, got 0",
        ),
    ],
)
def test_each_refusal_says_what_was_wrong(
    args: tuple[Any, ...], kwargs: dict[str, Any], kind: type[Exception], text: str
) -> None:
    async def main() -> None:
        await refloop.open_tcp_connection(*args, **kwargs)

    with pytest.raises(kind) as info:
        refloop.run(main())
    assert str(info.value) == text


@pytest.mark.spec("connect.stagger")
def test_the_smallest_delay_and_line_limit_are_allowed(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]

    async def main() -> list[int]:
        limits = []
        for delay in (0, None):
            s = await refloop.open_tcp_connection(
                "127.0.0.1", port, happy_eyeballs_delay=delay, max_line=1
            )
            limits.append(s.max_line)
            s.close()
        s = await refloop.open_tcp_connection("127.0.0.1", port, max_line=77)
        limits.append(s.max_line)
        s.close()
        return limits

    assert refloop.run(main()) == [1, 1, 77]


@pytest.mark.spec("connect.errors")
def test_a_name_with_no_address_is_refused_by_name() -> None:
    async def main() -> OSError:
        on(Net([]))
        with pytest.raises(OSError) as info:
            await refloop.open_tcp_connection("empty.example", 80)
        return info.value

    err = refloop.run(main())
    assert type(err) is OSError and err.errno is None
    assert str(err) == "'empty.example' resolved to no address"


@pytest.mark.spec("connect.errors")
def test_a_refused_connection_is_named_once_with_its_address() -> None:
    port = free_port()
    err = failure("127.0.0.1", port)
    assert type(err) is ConnectionRefusedError and err.errno == errno.ECONNREFUSED
    address = f"('127.0.0.1', {port})"
    assert str(err) == (
        f"[Errno {errno.ECONNREFUSED}] could not connect to '127.0.0.1' port "
        f"{port}: 1 address(es) tried: [Errno {errno.ECONNREFUSED}] connect to "
        f"{address}: Connection refused"
    )


def run_net(net: Net, **kwargs: Any) -> OSError:
    async def main() -> OSError:
        on(net)
        with pytest.raises(OSError) as info:
            await refloop.open_tcp_connection("x", 1, **kwargs)
        return info.value

    return refloop.run(main())


@pytest.mark.spec("connect.errors", "connect.no-leak")
def test_errors_raised_at_once_name_the_address_and_keep_their_errno() -> None:
    a, b = ("127.0.0.1", 7), ("127.0.0.1", 8)
    udp = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP)
    net = Net([(*udp, a), (*TCP, b)], b=(b, errno.ENETUNREACH))
    before = open_fds()
    err = run_net(net)
    # The socket could not be made for one, the other could not be reached:
    # two errnos, so the error has none, and no socket is left open.
    assert type(err) is OSError and err.errno is None
    no_proto = os.strerror(errno.EPROTONOSUPPORT)
    unreachable = os.strerror(errno.ENETUNREACH)
    first = f"[Errno {errno.EPROTONOSUPPORT}] socket for {a!r}: {no_proto}"
    second = f"[Errno {errno.ENETUNREACH}] connect to {b!r}: {unreachable}"
    assert str(err) == (
        f"could not connect to 'x' port 1: 2 address(es) tried: {first}; {second}"
    )
    group = err.__cause__
    assert isinstance(group, ExceptionGroup)
    assert [e.errno for e in group.exceptions] == [
        errno.EPROTONOSUPPORT,
        errno.ENETUNREACH,
    ]
    assert [s.fileno() for s in net.made] == [-1]
    assert open_fds() == before


@pytest.mark.spec("connect.errors")
def test_one_shared_errno_raised_at_once_is_the_errors() -> None:
    b = ("127.0.0.1", 8)
    err = run_net(Net([(*TCP, b)], b=(b, errno.ENETUNREACH)))
    assert type(err) is OSError and err.errno == errno.ENETUNREACH
    text = f"connect to {b!r}: {os.strerror(errno.ENETUNREACH)}"
    assert str(err) == (
        f"[Errno {errno.ENETUNREACH}] could not connect to 'x' port 1: "
        f"1 address(es) tried: [Errno {errno.ENETUNREACH}] {text}"
    )


@pytest.mark.spec("connect.stagger")
@pytest.mark.parametrize("delay", [None, 30])
def test_an_attempt_that_fails_at_once_starts_the_next_at_once(
    listener: socket.socket, delay: float | None
) -> None:
    udp = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP)
    address = listener.getsockname()

    async def main() -> Any:
        on(Net([(*udp, ("127.0.0.1", 7)), (*TCP, address)]))
        with refloop.timeout(5):
            s = await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=delay)
        peer = s.socket.getpeername()
        s.close()
        return peer

    assert refloop.run(main()) == address


@pytest.mark.spec("connect.stagger", "connect.errors")
def test_attempts_overtaken_by_the_delay_then_failing_are_all_reported() -> None:
    # With no delay every attempt starts before the one before it fails: the
    # waits the delay cut short are gone when those failures come.
    ports = [free_port(), free_port(), free_port()]
    infos = [(*TCP, ("127.0.0.1", p)) for p in ports]

    async def main() -> OSError:
        on(Net(infos))
        with pytest.raises(ConnectionRefusedError) as info:
            await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0)
        return info.value

    err = refloop.run(main())
    assert "3 address(es) tried" in str(err)
    assert isinstance(err.__cause__, ExceptionGroup)
    assert len(err.__cause__.exceptions) == 3


# ------------------------------------------- connects the test finishes


class Pending(socket.socket):
    """A connecting socket whose outcome the test decides: its descriptor
    is one end of a socket pair whose send buffer is full, so it is not
    writable (the connect is under way) until `finish()` drains the other
    end; the connect then ends with `error` (0: connected)."""

    peer: socket.socket
    error = 0
    on_finish: Any = None

    def connect(self, address: Any) -> None:
        raise BlockingIOError(errno.EINPROGRESS, "Operation now in progress")

    def getsockopt(self, level: int, option: int, *args: Any) -> Any:
        if (level, option) == (socket.SOL_SOCKET, socket.SO_ERROR):
            if self.on_finish is not None:
                self.on_finish()
            return self.error
        return super().getsockopt(level, option, *args)

    def finish(self, error: int = 0) -> None:
        self.error = error
        self.peer.setblocking(False)
        try:
            while self.peer.recv(65536):
                pass
        except BlockingIOError:
            pass


class PendingNet(Net):
    def socket(self, family: int = -1, type: int = -1, proto: int = -1) -> Any:
        self.sockets.append((family, type, proto))
        a, b = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        a.setblocking(False)
        try:
            while True:
                a.send(b"x" * 4096)
        except BlockingIOError:
            pass
        sock = Pending(fileno=a.detach())
        sock.peer = b
        self.made.append(sock)
        return sock


def pending_net(n: int) -> PendingNet:
    return PendingNet([(*TCP, ("127.0.0.1", 7 + i)) for i in range(n)])


def close_peers(net: PendingNet) -> list[int]:
    fds = [s.fileno() for s in net.made]
    for s in net.made:
        assert isinstance(s, Pending)
        s.peer.close()
        s.close()
    return fds


@pytest.mark.spec("connect.stagger", "connect.errors")
def test_an_attempt_failing_after_the_delay_overtook_it_wakes_no_one() -> None:
    # Attempt 2's wait for attempt 1 is cut short by the delay; attempt 1
    # fails later, when nobody waits for it any more; attempt 2 then wins.
    net = pending_net(2)

    async def main() -> list[object]:
        on(net)

        async def decide() -> None:
            while len(net.made) < 2:
                await refloop.sleep(0.01)
            first, second = net.made
            assert isinstance(first, Pending) and isinstance(second, Pending)
            first.finish(errno.ECONNREFUSED)
            await refloop.sleep(0.05)
            second.finish()

        helper = refloop.spawn(decide())
        with refloop.timeout(5):
            s = await refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0.02)
        await helper.join()
        return [s.socket is net.made[1], net.made[0].fileno()]

    assert refloop.run(main()) == [True, -1]
    close_peers(net)


@pytest.mark.spec("connect.no-leak", "connect.stagger")
def test_a_second_attempt_connecting_with_the_winner_is_closed() -> None:
    # Both connects end in one poll: the first registered wins, and the
    # second, woken in the same iteration, closes its own socket.
    net = pending_net(2)

    async def main() -> list[object]:
        on(net)
        with refloop.timeout(5):
            connecting = refloop.spawn(
                refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0)
            )
            while len(net.made) < 2:
                await refloop.sleep(0.01)
            await refloop.sleep(0.01)  # both are waiting
            for s in net.made:
                assert isinstance(s, Pending)
                s.finish()
            stream = await connecting.join()
        seen: list[object] = [stream.socket is net.made[0], net.made[1].fileno()]
        seen.append(refloop.current_loop().waiters())
        stream.close()
        return seen

    assert refloop.run(main()) == [True, -1, []]
    close_peers(net)


def cancelled_as_attempt_wins(n: int) -> list[object]:
    """The last of `n` attempts connects, and while its task is running the
    caller is cancelled (as a timeout that fires in that iteration is)."""
    net = pending_net(n)

    async def main() -> list[object]:
        on(net)
        connecting = refloop.spawn(
            refloop.open_tcp_connection("x", 1, happy_eyeballs_delay=0.02)
        )
        while len(net.made) < n:
            await refloop.sleep(0.01)
        await refloop.sleep(0.01)
        sock = net.made[-1]
        assert isinstance(sock, Pending)
        sock.on_finish = connecting.cancel
        sock.finish()
        outcome: object = None
        try:
            outcome = await connecting.join()
        except refloop.Cancelled:
            outcome = "cancelled"
        return [
            outcome,
            [s.fileno() for s in net.made],
            refloop.current_loop().waiters(),
        ]

    seen = refloop.run(main())
    close_peers(net)
    return seen


@pytest.mark.spec("connect.no-leak")
def test_a_caller_cancelled_as_its_attempt_wins_closes_the_winner() -> None:
    # The second attempt wins while the first still runs: the caller's
    # cancellation ends the race and every socket, the winner's too.
    assert cancelled_as_attempt_wins(2) == ["cancelled", [-1, -1], []]


@pytest.mark.spec("connect.no-leak", "cancel.scope.group")
def test_a_caller_cancelled_as_its_only_attempt_wins_is_cancelled() -> None:
    # The group's owner was cancelled as its only child finished: the
    # cancellation was dropped (TaskGroup.__aexit__ took it for the child's
    # outcome) and the caller got a connection it had given up on.
    assert cancelled_as_attempt_wins(1) == ["cancelled", [-1], []]


@pytest.mark.spec("cancel.scope.group")
def test_a_group_owner_cancelled_as_its_last_child_finishes_is_cancelled() -> None:
    async def main() -> list[str]:
        seen = []
        me = refloop.current_task()

        async def child() -> None:
            me.cancel()  # the owner waits for this child: it is woken so

        try:
            async with refloop.TaskGroup() as group:
                group.spawn(child())
            seen.append("went on")
        except refloop.Cancelled:
            seen.append("cancelled")
        await refloop.sleep(0)  # and nothing is left pending
        seen.append("then ran")
        return seen

    assert refloop.run(main()) == ["cancelled", "then ran"]


class TurnsBlocking(Pending):
    """A network's socket that reports itself blocking once connected."""

    connected = False

    def getsockopt(self, level: int, option: int, *args: Any) -> Any:
        self.connected = True
        return super().getsockopt(level, option, *args)

    def gettimeout(self) -> float | None:
        return None if self.connected else super().gettimeout()


@pytest.mark.spec("connect.no-leak")
def test_a_connected_socket_the_stream_refuses_is_closed() -> None:
    net = pending_net(1)

    async def main() -> str:
        on(net)

        def socket_(family: int = -1, type: int = -1, proto: int = -1) -> Any:
            sock = PendingNet.socket(net, family, type, proto)
            sock.__class__ = TurnsBlocking
            return sock

        net.socket = socket_  # type: ignore[method-assign]
        connecting = refloop.spawn(refloop.open_tcp_connection("x", 1))
        while not net.made:
            await refloop.sleep(0.01)
        sock = net.made[0]
        assert isinstance(sock, Pending)
        sock.finish()
        with pytest.raises(ValueError, match="is in blocking mode") as info:
            await connecting.join()
        assert sock.fileno() == -1
        return str(info.value)

    assert refloop.run(main()).endswith("call sock.setblocking(False) first")
    close_peers(net)
