"""Far ends for idle connections, held open in a process of their own.

The idle and memory benchmarks register up to 10,000 connections with the
loop under test. A socketpair would cost two descriptors each, and the hard
descriptor limit here is 20,000 (unprivileged processes cannot raise it), so
the far ends live in this helper: it accepts every connection, never reads or
writes, and exits when its stdin closes, that is, when its parent goes.
"""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
from types import TracebackType

from bench._child import raise_nofile


def main() -> None:
    raise_nofile(1 << 20)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    sel.register(sys.stdin, selectors.EVENT_READ)
    sys.stdout.write(f"{lsock.getsockname()[1]}\n")
    sys.stdout.flush()
    held: list[socket.socket] = []
    while True:
        for key, _ in sel.select():
            if key.fileobj is sys.stdin:
                return
            while True:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    break
                held.append(conn)


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """Two ends of one loopback TCP connection, both non-blocking, no Nagle."""
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        near = socket.create_connection(lsock.getsockname())
        far, _ = lsock.accept()
    for sock in (near, far):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
    return near, far


class Holder:
    """Start the helper; `connect(n)` opens n idle connections to it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.holder"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def connect(self, count: int) -> list[socket.socket]:
        """`count` connected, non-blocking sockets whose peers never speak."""
        raise_nofile(count + 256)
        socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.setblocking(False)
            socks.append(sock)
        return socks

    def __enter__(self) -> Holder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


if __name__ == "__main__":
    main()
