"""The load client: ping-pong echo over many connections, time-bounded.

One process, one epoll set, level-triggered, one preallocated receive buffer:
per request it makes one send and, for messages up to the socket buffer, one
recv, so that it costs about what the floor server costs and stays out of the
way of every slower server. Each connection has exactly one message in
flight; a request completes when all of its bytes have come back.

``python -m bench.client PORT SIZE CONNS WARMUP SECONDS SERVER_PID`` prints one
JSON line: requests and elapsed seconds in the measured window, the server's
CPU seconds over that window (bench.cpu), and the client's own.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import time

from bench._child import raise_nofile
from bench.cpu import process_cpu

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT


class Load:
    """Connections to one server, each with one message in flight."""

    def __init__(self, port: int, size: int, conns: int) -> None:
        raise_nofile(conns + 64)
        self.size = size
        self.message = bytes(i % 251 for i in range(size))
        self.view = memoryview(self.message)
        self.buffer = bytearray(max(size, 1 << 18))
        self.epoll = select.epoll()
        self.socks: dict[int, socket.socket] = {}
        self.want: dict[int, int] = {}
        self.sent: dict[int, int] = {}
        self.writing: set[int] = set()
        for _ in range(conns):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            fd = sock.fileno()
            self.socks[fd] = sock
            self.want[fd] = size
            self.sent[fd] = 0
            self.epoll.register(fd, _IN)
        for fd in self.socks:
            self._send(fd)

    def _send(self, fd: int) -> None:
        offset = self.sent[fd]
        rest = self.view[offset:] if offset else self.message
        with contextlib.suppress(BlockingIOError):
            offset += self.socks[fd].send(rest)
        if offset < self.size:
            self.sent[fd] = offset
            if fd not in self.writing:
                self.writing.add(fd)
                self.epoll.modify(fd, _IN | _OUT)
        else:
            self.sent[fd] = 0
            if fd in self.writing:
                self.writing.discard(fd)
                self.epoll.modify(fd, _IN)

    def pump(self, seconds: float) -> int:
        """Run for `seconds`; return the number of completed requests."""
        done = 0
        size, message, buffer, want = self.size, self.message, self.buffer, self.want
        recv_into = {fd: sock.recv_into for fd, sock in self.socks.items()}
        send = {fd: sock.send for fd, sock in self.socks.items()}
        poll, clock, send_rest = self.epoll.poll, time.monotonic, self._send
        deadline = clock() + seconds
        while clock() < deadline:
            for fd, events in poll(0.1):
                if events & _OUT:
                    send_rest(fd)
                    if not events & ~_OUT:
                        continue
                try:
                    got = recv_into[fd](buffer)
                except BlockingIOError:
                    continue
                if not got:
                    raise ConnectionError("the server closed a connection")
                left = want[fd] - got
                if left > 0:
                    want[fd] = left
                    continue
                done += 1
                want[fd] = size
                # The fast path: the whole message fits in the socket buffer.
                try:
                    sent = send[fd](message)
                except BlockingIOError:
                    sent = 0
                if sent < size:
                    self.sent[fd] = sent
                    send_rest(fd)
        return done

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()
        self.epoll.close()


def measure(
    port: int, size: int, conns: int, warmup: float, seconds: float, pid: int
) -> dict[str, float]:
    """Warm up, then measure one window of ping-pong against server `pid`."""
    load = Load(port, size, conns)
    try:
        load.pump(warmup)
        cpu0, own0, t0 = process_cpu(pid), time.process_time(), time.perf_counter()
        requests = load.pump(seconds)
        t1, own1, cpu1 = time.perf_counter(), time.process_time(), process_cpu(pid)
    finally:
        load.close()
    return {
        "requests": requests,
        "elapsed": t1 - t0,
        "server_cpu": cpu1 - cpu0,
        "client_cpu": own1 - own0,
    }


def main(argv: list[str]) -> None:
    port, size, conns = int(argv[0]), int(argv[1]), int(argv[2])
    warmup, seconds, pid = float(argv[3]), float(argv[4]), int(argv[5])
    result = measure(port, size, conns, warmup, seconds, pid)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
