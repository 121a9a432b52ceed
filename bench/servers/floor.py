"""The floor: a hand-written callback echo server on `selectors`.

No tasks, no futures, no buffers beyond the one unsent tail: the least a pure
Python event loop can do per request. Each registration's data is the bound
method to call when the socket is ready.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Callable

from bench.servers._common import READ_SIZE, nodelay, serve

Handler = Callable[[], None]


class _Conn:
    __slots__ = ("out", "sel", "sock")

    def __init__(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        self.sel = sel
        self.sock = sock
        self.out = b""

    def on_read(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(self.sock)
            self.sock.close()
            return
        self._send(data)

    def on_write(self) -> None:
        self._send(self.out)

    def _send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.sel.unregister(self.sock)
            self.sock.close()
            return
        if sent < len(data):
            # Stop reading until the tail is out: the kernel buffers the rest.
            self.out = data[sent:]
            self.sel.modify(self.sock, selectors.EVENT_WRITE, self.on_write)
        elif self.out:
            self.out = b""
            self.sel.modify(self.sock, selectors.EVENT_READ, self.on_read)


def run(lsock: socket.socket) -> None:
    sel = selectors.DefaultSelector()

    def on_accept() -> None:
        while True:
            try:
                conn, _ = lsock.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            nodelay(conn)
            sel.register(conn, selectors.EVENT_READ, _Conn(sel, conn).on_read)

    sel.register(lsock, selectors.EVENT_READ, on_accept)
    select = sel.select
    while True:
        for key, _ in select():
            key.data()


if __name__ == "__main__":
    serve(run)
