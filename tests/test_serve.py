"""serve_tcp and serve_listeners over loopback (spec: serve.*)."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _helpers import open_fds

import refloop
from refloop import Stream

CHILD = Path(__file__).resolve().parent / "emfile_server.py"


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(CHILD), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.spec("serve.backoff")
def test_emfile_neither_kills_nor_spins_the_server_and_it_serves_again() -> None:
    result = run_child()
    first, second = result["first"], result["second"]
    # 0.8 s of EMFILE: attempts at 0, 0.1, 0.3 and 0.7 s, each logged with
    # the delay that follows it.
    assert first["delays"] == [0.1, 0.2, 0.4, 0.8]
    assert first["accepts"] == 4
    assert first["polls"] <= 12
    # Once descriptors are free the queued clients are served.
    assert first["echoed"] == ["hi 0\n", "hi 1\n", "hi 2\n"]
    # The delay started over after the successful accepts.
    assert second["delays"] == [0.1, 0.2, 0.4]
    assert second["echoed"] == ["hi 0\n"]
    assert result["alive"]  # cancelled at the end, listener closed


@pytest.mark.spec("serve.backoff")
def test_the_emfile_check_catches_a_server_that_retries_at_once() -> None:
    result = run_child("--broken")
    # The same count for a zero back-off: the accept loop spins while
    # descriptors are short (the loop skips the poll when nothing waits on a
    # socket, tick.poll-skip, so it is the accepts that show it).
    assert result["first"]["accepts"] > 100


async def echo(stream: Stream) -> None:
    while line := await stream.readline():
        await stream.send_all(line)


async def start(handler: Any, **kwargs: Any) -> tuple[refloop.Task[None], int]:
    ports: list[int] = []
    server = refloop.spawn(
        refloop.serve_tcp(
            handler,
            "127.0.0.1",
            0,
            started=lambda ls: ports.append(ls[0].getsockname()[1]),
            **kwargs,
        )
    )
    while not ports and not server.done():
        await refloop.sleep(0.001)
    if server.done():
        await server.join()  # a server that failed to start says why
    return server, ports[0]


@pytest.mark.spec("serve.listen", "serve.task-per-connection")
def test_serves_each_connection_in_its_own_task() -> None:
    async def main() -> list[bytes]:
        server, port = await start(echo)
        clients = [
            await refloop.open_tcp_connection("127.0.0.1", port) for _ in range(3)
        ]
        for i, c in enumerate(clients):
            await c.send_all(b"line %d\n" % i)
        got = [await c.readline() for c in reversed(clients)]
        for c in clients:
            c.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()
        return got

    assert refloop.run(main()) == [b"line 2\n", b"line 1\n", b"line 0\n"]


@pytest.mark.spec("serve.shutdown")
def test_a_cancelled_server_closes_everything_it_opened() -> None:
    before = open_fds()

    async def main() -> dict[str, Any]:
        streams: list[Stream] = []
        listeners: list[socket.socket] = []

        async def hold(stream: Stream) -> None:
            streams.append(stream)
            await stream.readline()  # the clients never send

        server = refloop.spawn(
            refloop.serve_tcp(hold, "127.0.0.1", 0, started=listeners.extend)
        )
        while not listeners:
            await refloop.sleep(0.001)
        port = listeners[0].getsockname()[1]
        clients = [
            await refloop.open_tcp_connection("127.0.0.1", port) for _ in range(3)
        ]
        while len(streams) < 3:
            await refloop.sleep(0.001)
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()
        loop = refloop.current_loop()
        seen = {
            "listener": listeners[0].fileno(),
            "streams": [s.closed and s.socket.fileno() == -1 for s in streams],
            "eof": [await c.receive_some() for c in clients],
            "waiters": loop.waiters(),
            "tasks": [t.name for t in loop.tasks() if not t.done()],
        }
        for c in clients:
            c.close()
        return seen

    seen = refloop.run(main())
    assert seen["listener"] == -1
    assert seen["streams"] == [True, True, True]
    assert seen["eof"] == [b"", b"", b""]
    assert seen["waiters"] == []
    assert seen["tasks"] == ["main"]
    assert open_fds() == before


@pytest.mark.spec("serve.shutdown")
def test_move_on_after_stops_a_server() -> None:
    async def main() -> bool:
        listeners: list[socket.socket] = []
        with refloop.move_on_after(0.05) as scope:
            await refloop.serve_tcp(echo, "127.0.0.1", 0, started=listeners.extend)
        return scope.fired and listeners[0].fileno() == -1

    assert refloop.run(main())


@pytest.mark.spec("serve.handler-fails")
def test_a_failing_handler_ends_its_connection_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def picky(stream: Stream) -> None:
        line = await stream.readline()
        if line == b"bad\n":
            raise ValueError("no thanks")
        await stream.send_all(line)

    async def main() -> list[bytes]:
        server, port = await start(picky)
        bad = await refloop.open_tcp_connection("127.0.0.1", port)
        await bad.send_all(b"bad\n")
        closed = await bad.receive_some()
        good = await refloop.open_tcp_connection("127.0.0.1", port)
        await good.send_all(b"good\n")
        answer = await good.readline()
        bad.close()
        good.close()
        server.cancel()
        with pytest.raises(refloop.Cancelled):
            await server.join()
        return [closed, answer]

    with caplog.at_level(logging.ERROR, logger="refloop.serve"):
        assert refloop.run(main()) == [b"", b"good\n"]
    [record] = [r for r in caplog.records if r.name == "refloop.serve"]
    assert "picky" in record.getMessage() and "127.0.0.1" in record.getMessage()
    assert isinstance(record.exc_info and record.exc_info[1], ValueError)


@pytest.mark.spec("serve.listen")
def test_no_host_listens_on_every_interface() -> None:
    async def main() -> list[tuple[int, Any, int, int]]:
        listeners = await refloop.open_tcp_listeners(0)
        found = []
        for sock in listeners:
            v6only = (
                sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
                if sock.family == socket.AF_INET6
                else 1
            )
            found.append(
                (sock.family, sock.getsockname()[0], v6only, sock.getsockname()[1])
            )
            sock.close()
        return found

    found = refloop.run(main())
    assert len({entry[3] for entry in found}) == 1  # port 0: one free port for all
    found = [entry[:3] for entry in found]
    assert (socket.AF_INET, "0.0.0.0", 1) in found
    if socket.has_ipv6:
        assert (socket.AF_INET6, "::", 1) in found


@pytest.mark.spec("serve.listen")
@pytest.mark.parametrize(
    ("args", "kwargs", "kind", "complaint"),
    [
        ((echo, "127.0.0.1", -1), {}, ValueError, "port 0 to 65535"),
        ((echo, "127.0.0.1", 70000), {}, ValueError, "port 0 to 65535"),
        ((echo, "", 0), {}, TypeError, "host must be a str or None"),
        (("echo", "127.0.0.1", 0), {}, TypeError, "async handler"),
        ((echo, "127.0.0.1", 0), {"ssl_context": "tls"}, TypeError, "SSLContext"),
        ((echo, "127.0.0.1", 0), {"backlog": -1}, ValueError, "backlog"),
        ((echo, "127.0.0.1", 0), {"max_line": 0}, ValueError, "max_line"),
        ((echo, "127.0.0.1", 0), {"handshake_timeout": "x"}, TypeError, "seconds"),
    ],
)
def test_bad_arguments_open_nothing(
    args: tuple[Any, ...], kwargs: dict[str, Any], kind: type[Exception], complaint: str
) -> None:
    before = open_fds()

    async def main() -> None:
        await refloop.serve_tcp(*args, **kwargs)

    with pytest.raises(kind, match=complaint):
        refloop.run(main())
    assert open_fds() == before


def test_serve_listeners_needs_listeners() -> None:
    async def main() -> None:
        await refloop.serve_listeners(echo, [])

    with pytest.raises(TypeError, match=r"non-empty list of listeners \(sockets\)"):
        refloop.run(main())


class FlakyListener(socket.socket):
    """A real listener whose accept first fails as `script` says."""

    script: ClassVar[list[int]] = []

    def accept(self) -> Any:
        if self.script:
            code = self.script.pop(0)
            raise OSError(code, os.strerror(code))
        return super().accept()


@pytest.mark.spec("serve.backoff", "op.accept.aborted")
def test_which_accept_errors_back_off_retry_or_end_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = FlakyListener(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    FlakyListener.script = [
        errno.ENFILE,
        errno.ENOBUFS,
        errno.ENOMEM,
        errno.ECONNABORTED,
        errno.EPROTO,
    ]

    async def main() -> bytes:
        server = refloop.spawn(refloop.serve_listeners(echo, [listener]))
        client = await refloop.open_tcp_connection("127.0.0.1", port)
        await client.send_all(b"through\n")
        line = await client.readline()
        FlakyListener.script = [errno.EINVAL]
        other = await refloop.open_tcp_connection("127.0.0.1", port)
        with pytest.raises(BaseExceptionGroup) as info:
            await server.join()
        [error] = info.value.exceptions
        assert isinstance(error, OSError) and error.errno == errno.EINVAL
        assert await client.receive_some() == b""  # its connection was closed
        client.close()
        other.close()
        return line

    with caplog.at_level(logging.WARNING, logger="refloop.serve"):
        assert refloop.run(main()) == b"through\n"
    delays = [r.args[-1] for r in caplog.records if r.name == "refloop.serve"]  # type: ignore[index]
    # Three shortages back off; the two aborted connections retry at once.
    assert delays == [0.1, 0.2, 0.4]
    assert listener.fileno() == -1
