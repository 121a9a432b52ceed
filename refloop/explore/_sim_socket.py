"""`SimSocket`: one end of a simulated TCP connection, or a listener
(the rules are in refloop/explore/_net.py's docstring)."""

from __future__ import annotations

import errno
import selectors
import socket
from collections import deque
from typing import TYPE_CHECKING, Any

from ._labels import cut, delay_label, reset_label

if TYPE_CHECKING:
    from ._net import SimNetwork

__all__ = ["HOST", "LOCAL", "WINDOW", "OutsideError", "SimSocket"]

WINDOW = 256 * 1024  # bytes a connection holds unread (in flight + arrived)
LOCAL = {"", "0.0.0.0", "127.0.0.1", "localhost", "::", "::1"}
HOST = "127.0.0.1"
_READ, _WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class OutsideError(OSError):
    """Raised in the test where it leaves the simulated world; the run is
    reported as OutsideWorld even if the test catches this."""


def _splits(available: int) -> list[int]:
    """Option 0 everything, then one byte, then half (distinct, > 0)."""
    out = [available]
    for n in (1, available // 2):
        if 0 < n < available and n not in out:
            out.append(n)
    return out


class SimSocket(socket.socket):
    """A TCP socket of the simulated network (see refloop.explore._net)."""

    def __init__(self, net: SimNetwork) -> None:
        # A real, unbound socket: its descriptor is this socket's identity.
        super().__init__(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.net = net
        self.fd = self.fileno()
        self.state = "new"  # new, listening, connected, failed, closed
        self.local: tuple[str, int] | None = None
        self.remote: tuple[str, int] | None = None
        self.peer: SimSocket | None = None
        self.inbox = bytearray()
        # (due poll, sent at, bytes or None for the end of the stream)
        self.incoming: deque[tuple[int, float, bytes | None]] = deque()
        self.backlog: deque[SimSocket] = deque()
        self.eof = self.shut_wr = self.reset = self.broken = False
        self.error = 0
        net.sockets[self.fd] = self

    def _what(self) -> str:
        return f"fd {self.fd} {self.local}->{self.remote}"

    # ------------------------------------------------ readiness

    def ready(self) -> int:
        if self.state == "listening":
            return _READ if self.backlog else 0
        if self.state == "failed":
            return _READ | _WRITE
        if self.state != "connected":
            return 0
        mask = _READ if self.inbox or self.eof or self.reset else 0
        if self.reset or self.broken or (not self.shut_wr and self._space() > 0):
            mask |= _WRITE
        return mask

    def _space(self) -> int:
        peer = self.peer
        if peer is None or peer.state == "closed":
            return WINDOW
        queued = sum(len(d) for _, _, d in peer.incoming if d is not None)
        return max(0, WINDOW - len(peer.inbox) - queued)

    def _arrive(self, data: bytes | None, later: int) -> None:
        """Bytes (or the end of the stream) sent to this socket; they land
        `later` polls from now, never before what was sent earlier."""
        if later == 0 and not self.incoming:
            if data is None:
                self.eof = True
            else:
                self.inbox += data
            return
        due = self.net.ticks() + later
        if self.incoming:
            due = max(due, self.incoming[-1][0])
        self.incoming.append((due, self.net.now(), data))

    # ------------------------------------------------ checks

    def _would_block(self, op: str) -> OSError:
        if self.gettimeout() != 0.0:
            return self.net.leave(
                f"a blocking {op}() on simulated socket {self._what()} would "
                "wait forever: the loop's thread is the only one"
            )
        return BlockingIOError(errno.EAGAIN, f"{op}() would block")

    def _live(self, op: str) -> None:
        if self.state == "closed":
            raise OSError(errno.EBADF, f"{op}() on a closed simulated socket")
        if self.reset:
            raise ConnectionResetError(
                errno.ECONNRESET, f"simulated connection {self._what()} was reset"
            )
        if self.state != "connected":
            raise OSError(errno.ENOTCONN, f"{op}(): simulated socket not connected")
        # spec: explore.net.reset
        if self.net.resets and self.net.choose(
            "reset", 2, reset_label(self._what(), op)
        ):
            self.inbox.clear()
            self.incoming.clear()
            self.reset = True
            if self.peer is not None and self.peer.state == "connected":
                self.peer.reset = True
                self.peer.inbox.clear()
                self.peer.incoming.clear()
            raise ConnectionResetError(
                errno.ECONNRESET, f"simulated connection {self._what()} reset"
            )

    # ------------------------------------------------ data

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._live("recv")
        if not self.inbox and self.incoming:
            # spec: explore.net.delay
            # A read that finds nothing arrived counts as a poll: a loop
            # busy with nothing registered skips its polls (tick.poll-skip).
            self.net.misses += 1
            self.net.land()
        if not self.inbox:
            if self.eof:
                return b""
            raise self._would_block("recv")
        if bufsize < 1:
            return b""
        available = min(bufsize, len(self.inbox))
        options = _splits(available) if self.net.partial else [available]
        # spec: explore.net.partial-recv
        n = options[self.net.choose("recv", len(options), cut("recv", options))]
        data = bytes(self.inbox[:n])
        del self.inbox[:n]
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        with memoryview(buffer) as whole, whole.cast("B") as view:
            data = self.recv(nbytes or len(view))
            view[: len(data)] = data
            return len(data)

    def send(self, data: Any, flags: int = 0) -> int:
        self._live("send")
        if self.shut_wr or self.broken:
            raise BrokenPipeError(errno.EPIPE, f"send() on {self._what()}: closed")
        # Released on return: the caller may resize its buffer at once.
        with memoryview(data) as whole, whole.cast("B") as view:
            return self._send(view)

    def _send(self, view: memoryview) -> int:
        total = len(view)
        peer = self.peer
        if total == 0:
            return 0
        if peer is None or peer.state == "closed":
            self.broken = True  # these bytes are lost; the next send fails
            return total
        room = min(total, self._space())
        if room == 0:
            raise self._would_block("send")
        options = _splits(room) if self.net.partial else [room]
        # spec: explore.net.partial-send
        n = options[self.net.choose("send", len(options), cut("send", options))]
        # spec: explore.net.delay
        later = self.net.choose("delay", self.net.delay + 1, delay_label(n))
        peer._arrive(bytes(view[:n]), later)
        return n

    def sendall(self, data: Any, flags: int = 0) -> None:
        with memoryview(data) as whole, whole.cast("B") as view:
            sent = 0
            while sent < len(view):
                with view[sent:] as rest:
                    sent += self.send(rest)

    def sendmsg(self, buffers: Any, *rest: Any) -> int:
        return self.send(b"".join(bytes(b) for b in buffers))

    # ------------------------------------------------ connections

    def bind(self, address: Any) -> None:
        host, port = address[0], int(address[1])
        if host not in LOCAL:
            raise OSError(errno.EADDRNOTAVAIL, f"bind {address!r}: not on this host")
        self.local = (HOST, self.net.port(port))

    def listen(self, backlog: int = 0) -> None:
        if self.local is None:
            self.bind(("", 0))
        assert self.local is not None
        self.state = "listening"
        self.net.listeners[self.local[1]] = self

    def accept(self) -> tuple[socket.socket, Any]:
        if self.state != "listening":
            raise OSError(errno.EINVAL, "accept() on a simulated socket not listening")
        if not self.backlog:
            raise self._would_block("accept")
        conn = self.backlog.popleft()
        return conn, conn.remote

    def connect(self, address: Any) -> None:
        if self.state != "new":
            raise OSError(errno.EISCONN, f"connect() on a {self.state} socket")
        host, port = str(address[0]), int(address[1])
        listener = self.net.listeners.get(port)
        if host not in LOCAL:
            # spec: explore.net.closed
            raise self.net.leave(f"connect to {address!r}: not a simulated host")
        if self.local is None:
            self.local = (HOST, self.net.port(0))
        if listener is None:
            self.state, self.error = "failed", errno.ECONNREFUSED
        else:
            server = SimSocket(self.net)
            server.state, server.local, server.remote = (
                "connected",
                listener.local,
                self.local,
            )
            server.peer, self.peer = self, server
            self.remote = listener.local
            self.state = "connected"
            listener.backlog.append(server)
        if self.gettimeout() != 0.0:
            if self.error:
                raise ConnectionRefusedError(self.error, f"connect to {address!r}")
            return
        raise BlockingIOError(errno.EINPROGRESS, "connection in progress")

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
        except OSError as err:
            return err.errno or 0
        return 0

    def getsockopt(self, level: int, option: int, *rest: Any) -> Any:
        if level == socket.SOL_SOCKET and option == socket.SO_ERROR:
            code, self.error = self.error, 0
            return code
        return super().getsockopt(level, option, *rest)

    def getsockname(self) -> Any:
        return self.local or ("0.0.0.0", 0)

    def getpeername(self) -> Any:
        if self.remote is None or self.state != "connected":
            raise OSError(errno.ENOTCONN, "simulated socket not connected")
        return self.remote

    def shutdown(self, how: int) -> None:
        if how != socket.SHUT_RD and self.state == "connected" and not self.shut_wr:
            self.shut_wr = True
            if self.peer is not None and self.peer.state == "connected":
                self.peer._arrive(None, 0)

    def close(self) -> None:
        if self.state != "closed":
            was, self.state = self.state, "closed"
            peer = self.peer
            open_peer = peer is not None and peer.state == "connected"
            if was == "connected" and not self.shut_wr and open_peer:
                assert peer is not None
                peer._arrive(None, 0)
            if was == "listening" and self.local is not None:
                self.net.listeners.pop(self.local[1], None)
                for conn in self.backlog:
                    if conn.peer is not None:
                        conn.peer.reset = True
                    conn.close()
            self.net.sockets.pop(self.fd, None)
        super().close()

    def dup(self) -> SimSocket:
        raise OSError(errno.EOPNOTSUPP, "dup() of a simulated socket")
