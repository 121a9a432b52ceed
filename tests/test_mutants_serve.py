"""What serving logs and refuses, word for word, and the accept loop's
back-off past its cap (spec: serve.*): the tests written for the survivors
of `tools/mutation.py run _serve` (docs/mutation.md, "Fifth run (d)")."""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from _helpers import open_fds

import refloop
import refloop._serve
from refloop import Stream
from refloop._network import install


async def echo(stream: Stream) -> None:
    while line := await stream.readline():
        await stream.send_all(line)


class Flaky(socket.socket):
    """A real listener whose accepts first fail as `script` says."""

    script: ClassVar[list[int]] = []

    def accept(self) -> Any:
        if self.script:
            code = self.script.pop(0)
            raise OSError(code, os.strerror(code))
        return super().accept()


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    sock = Flaky(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()
    Flaky.script = []


def serve_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "refloop.serve"]


@pytest.mark.spec("serve.backoff")
def test_the_back_off_doubles_to_its_cap_and_starts_over_after_an_accept(
    flaky: Flaky,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = refloop.sleep

    async def quick(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(refloop._serve, "sleep", quick)
    port = flaky.getsockname()[1]
    Flaky.script = [errno.EMFILE] * 7

    async def main() -> None:
        server = refloop.spawn(refloop.serve_listeners(echo, [flaky]))
        first = await refloop.open_tcp_connection("127.0.0.1", port)
        await first.send_all(b"a\n")
        assert await first.readline() == b"a\n"
        Flaky.script = [errno.ENFILE]
        second = await refloop.open_tcp_connection("127.0.0.1", port)
        await second.send_all(b"b\n")
        assert await second.readline() == b"b\n"
        first.close()
        second.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()

    with caplog.at_level(logging.WARNING, logger="refloop.serve"):
        refloop.run(main())
    assert slept == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 0.1]
    records = serve_records(caplog)
    assert [r.levelno for r in records] == [logging.WARNING] * 8
    emfile = os.strerror(errno.EMFILE)
    assert records[0].getMessage() == (
        f"accept on {flaky!r} failed ([Errno {errno.EMFILE}] {emfile}); "
        "retrying in 0.1 s"
    )
    assert (
        records[-1]
        .getMessage()
        .endswith(
            f"failed ([Errno {errno.ENFILE}] {os.strerror(errno.ENFILE)}); "
            "retrying in 0.1 s"
        )
    )


@pytest.mark.spec("serve.task-per-connection", "serve.handler-fails")
def test_each_connection_task_is_named_by_its_peer_and_a_failure_logged_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    names: list[str] = []

    async def failing(stream: Stream) -> None:
        names.append(refloop.current_task().name)
        raise ValueError("no")

    async def main() -> Any:
        listeners: list[socket.socket] = []
        server = refloop.spawn(
            refloop.serve_tcp(failing, "127.0.0.1", 0, started=listeners.extend)
        )
        while not listeners and not server.done():
            await refloop.sleep(0.001)
        port = listeners[0].getsockname()[1]
        client = await refloop.open_tcp_connection("127.0.0.1", port)
        assert await client.receive_some() == b""
        peer = client.socket.getsockname()
        client.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()
        return peer

    with caplog.at_level(logging.ERROR, logger="refloop.serve"):
        peer = refloop.run(main())
    assert names == [f"conn {peer!r}"]
    [record] = serve_records(caplog)
    assert record.getMessage() == (
        f"handler {failing!r} failed on the connection from {peer!r}"
    )
    assert record.levelno == logging.ERROR
    assert isinstance(record.exc_info and record.exc_info[1], ValueError)


@pytest.mark.spec("serve.tls")
def test_a_failed_handshake_is_logged_with_the_peer_and_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trustme = pytest.importorskip("trustme")
    import ssl

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    served: list[Stream] = []

    async def handler(stream: Stream) -> None:
        served.append(stream)

    async def main() -> list[Any]:
        listeners: list[socket.socket] = []
        server = refloop.spawn(
            refloop.serve_tcp(
                handler,
                "127.0.0.1",
                0,
                started=listeners.extend,
                ssl_context=context,
                handshake_timeout=0.05,
            )
        )
        while not listeners and not server.done():
            await refloop.sleep(0.001)
        port = listeners[0].getsockname()[1]
        peers = []
        # One client speaks no TLS, the other says nothing at all.
        for data in (b"plain text, not TLS\r\n\r\n", b""):
            client = await refloop.open_tcp_connection("127.0.0.1", port)
            if data:
                await client.send_all(data)
            assert await client.receive_some() == b""  # closed by the server
            peers.append(client.socket.getsockname())
            client.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()
        return peers

    with caplog.at_level(logging.WARNING, logger="refloop.serve"):
        peers = refloop.run(main())
    assert served == []
    records = serve_records(caplog)
    assert [r.msg for r in records] == ["TLS handshake with %r failed: %s"] * 2
    assert [r.args[0] for r in records] == peers  # type: ignore[index]
    errors = [r.args[1] for r in records]  # type: ignore[index]
    assert isinstance(errors[0], refloop.HandshakeError)
    assert isinstance(errors[1], TimeoutError)
    assert records[0].getMessage() == (
        f"TLS handshake with {peers[0]!r} failed: {errors[0]}"
    )


@pytest.mark.spec("serve.listen")
@pytest.mark.parametrize(
    ("kwargs", "kind", "text"),
    [
        (
            {"ssl_context": "tls"},
            TypeError,
            "ssl_context must be an ssl.SSLContext, got 'tls'",
        ),
        ({"max_line": 0}, ValueError, "max_line must be an int >= 1, got 0"),
        (
            {"handshake_timeout": "x"},
            TypeError,
            "handshake_timeout must be a number of seconds, got 'x'",
        ),
    ],
)
def test_serve_listeners_refuses_what_serve_tcp_refuses(
    kwargs: dict[str, Any], kind: type[Exception], text: str
) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)

    async def main() -> None:
        with refloop.timeout(5):  # not refused: it would serve for ever
            await refloop.serve_listeners(echo, [sock], **kwargs)

    with pytest.raises(kind) as info:
        refloop.run(main())
    assert str(info.value) == text
    assert sock.fileno() != -1  # refused before it took the listener
    sock.close()


@pytest.mark.spec("serve.listen")
@pytest.mark.parametrize(
    ("call", "kind", "text"),
    [
        (
            lambda: refloop.open_tcp_listeners(65536),
            ValueError,
            "open_tcp_listeners() needs a port 0 to 65535, got 65536",
        ),
        (
            lambda: refloop.open_tcp_listeners(True),
            ValueError,
            "open_tcp_listeners() needs a port 0 to 65535, got True",
        ),
        (
            lambda: refloop.open_tcp_listeners(0, host=b"::"),
            TypeError,
            "open_tcp_listeners() host must be a str or None, got b'::'",
        ),
        (
            lambda: refloop.open_tcp_listeners(0, backlog=-1),
            ValueError,
            "backlog must be an int >= 0, got -1",
        ),
        (
            lambda: refloop.open_tcp_listeners(0, backlog=1.5),
            ValueError,
            "backlog must be an int >= 0, got 1.5",
        ),
        (
            lambda: refloop.serve_tcp("echo", "127.0.0.1", 0),
            TypeError,
            "serve needs an async handler(stream), got 'echo'",
        ),
        (
            lambda: refloop.serve_listeners(echo, ["not a socket"]),
            TypeError,
            "serve_listeners needs a non-empty list of listeners (sockets), "
            "got ['not a socket']",
        ),
        (
            lambda: refloop.serve_listeners(echo, []),
            TypeError,
            "serve_listeners needs a non-empty list of listeners (sockets), got []",
        ),
    ],
)
def test_each_refusal_says_what_was_wrong(
    call: Any, kind: type[Exception], text: str
) -> None:
    before = open_fds()

    async def main() -> None:
        await call()

    with pytest.raises(kind) as info:
        refloop.run(main())
    assert str(info.value) == text
    assert open_fds() == before


@pytest.mark.spec("serve.listen")
def test_the_last_port_and_a_zero_backlog_are_allowed() -> None:
    async def main() -> list[Any]:
        found = []
        for port, backlog in ((0, 0), (65535, 1)):
            try:
                listeners = await refloop.open_tcp_listeners(
                    port, host="127.0.0.1", backlog=backlog
                )
            except OSError as err:  # 65535 is taken on this machine
                assert err.errno == errno.EADDRINUSE
                found.append("taken")
                continue
            found.append(
                [
                    (
                        s.getblocking(),
                        s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0,
                        s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
                    )
                    for s in listeners
                ]
            )
            for s in listeners:
                s.close()
        return found

    first, last = refloop.run(main())
    assert first == [(False, True, 1)]
    assert last in ([(False, True, 1)], "taken")


class Net:
    """A network whose names resolve to `infos` and whose sockets are the
    kernel's, recorded."""

    def __init__(self, infos: list[tuple[Any, ...]]) -> None:
        self.infos = infos
        self.made: list[socket.socket] = []

    def getaddrinfo(self, *args: Any) -> list[Any]:
        return list(self.infos)

    def socket(self, family: int = -1, type: int = -1, proto: int = -1) -> Any:
        sock = socket.socket(family, type, proto)
        self.made.append(sock)
        return sock


TCP4 = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "")


@pytest.mark.spec("serve.listen")
def test_one_listener_per_address_on_one_free_port() -> None:
    # The resolver names one address twice: it gets one listener; port 0 is
    # one free port for both addresses.
    infos = [
        (*TCP4, ("127.0.0.1", 0)),
        (*TCP4, ("127.0.0.1", 0)),
        (*TCP4, ("127.0.0.2", 0)),
    ]

    async def main() -> list[Any]:
        install(refloop.current_loop(), Net(infos))
        listeners = await refloop.open_tcp_listeners(0)
        names = [s.getsockname() for s in listeners]
        for s in listeners:
            s.close()
        return names

    (a, port), (b, other) = refloop.run(main())
    assert (a, b) == ("127.0.0.1", "127.0.0.2") and port == other != 0


@pytest.mark.spec("serve.listen")
def test_a_listener_that_cannot_be_made_closes_those_made() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    infos = [(*TCP4, ("127.0.0.1", 0)), (*TCP4, taken.getsockname())]
    net = Net(infos)
    before = open_fds()

    async def main() -> None:
        install(refloop.current_loop(), net)
        await refloop.open_tcp_listeners(5)

    with pytest.raises(OSError) as info:
        refloop.run(main())
    assert info.value.errno == errno.EADDRINUSE
    assert [s.fileno() for s in net.made] == [-1, -1]
    taken.close()
    assert open_fds() == before - 1


class Recording(socket.socket):
    """A kernel socket that notes what it was bound to and its backlog."""

    calls: list[tuple[str, Any]]

    def bind(self, address: Any) -> None:
        self.calls.append(("bind", address))
        super().bind(address)

    def listen(self, backlog: int = 0) -> None:
        self.calls.append(("listen", backlog))
        super().listen(backlog)


class RecordingNet(Net):
    def __init__(self, infos: list[tuple[Any, ...]]) -> None:
        super().__init__(infos)
        self.calls: list[tuple[str, Any]] = []

    def socket(self, family: int = -1, type: int = -1, proto: int = -1) -> Any:
        sock = Recording(family, type, proto)
        sock.calls = self.calls
        self.made.append(sock)
        return sock


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.spec("serve.listen")
def test_the_default_backlog_is_128_by_either_door() -> None:
    infos = [(*TCP4, ("127.0.0.1", 0))]

    async def main() -> list[Any]:
        net = RecordingNet(infos)
        install(refloop.current_loop(), net)
        for sock in await refloop.open_tcp_listeners(0):
            sock.close()
        with refloop.move_on_after(0.01):
            await refloop.serve_tcp(echo, None, 0)
        return net.calls

    calls = refloop.run(main())
    assert [c for c in calls if c[0] == "listen"] == [("listen", 128)] * 2


@pytest.mark.spec("serve.listen")
@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_port_0_keeps_the_rest_of_an_ipv6_address() -> None:
    infos = [
        (*TCP4, ("127.0.0.1", 0)),
        (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 0, 5, 0)),
    ]

    async def main() -> list[Any]:
        net = RecordingNet(infos)
        install(refloop.current_loop(), net)
        listeners = await refloop.open_tcp_listeners(0)
        port = listeners[0].getsockname()[1]
        v6only = listeners[1].getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        for sock in listeners:
            sock.close()
        binds = [c[1] for c in net.calls if c[0] == "bind"]
        return [binds, port, v6only]

    binds, port, v6only = refloop.run(main())
    assert binds == [("127.0.0.1", 0), ("::1", port, 5, 0)]
    assert v6only == 1


@pytest.mark.spec("serve.listen")
@pytest.mark.parametrize(
    "kwargs",
    [{"ssl_context": "tls"}, {"max_line": 0}, {"handshake_timeout": "x"}],
)
def test_serve_tcp_refuses_its_arguments_before_it_listens(
    kwargs: dict[str, Any],
) -> None:
    net = RecordingNet([(*TCP4, ("127.0.0.1", 0))])

    async def main() -> None:
        install(refloop.current_loop(), net)
        await refloop.serve_tcp(echo, "127.0.0.1", 0, **kwargs)

    with pytest.raises((TypeError, ValueError)):
        refloop.run(main())
    assert net.made == []


@pytest.mark.spec("serve.listen")
def test_the_smallest_line_limit_is_allowed() -> None:
    limits: list[int] = []

    async def handler(stream: Stream) -> None:
        limits.append(stream.max_line)

    async def main() -> None:
        listeners: list[socket.socket] = []
        server = refloop.spawn(
            refloop.serve_tcp(
                handler, "127.0.0.1", 0, started=listeners.extend, max_line=1
            )
        )
        while not listeners and not server.done():
            await refloop.sleep(0.001)
        port = listeners[0].getsockname()[1]
        client = await refloop.open_tcp_connection("127.0.0.1", port)
        assert await client.receive_some() == b""
        client.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()

    refloop.run(main())
    assert limits == [1]
