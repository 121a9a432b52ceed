"""A buffered byte stream over a connected socket (spec: stream.*).

Rules this module keeps:

1. Nothing received is lost: every byte `recv` returns goes into the buffer
   before anything else can happen, so a read that is cancelled, refused or
   over its limit leaves the bytes for the next read (stream.keeps-bytes).
2. One task receives at a time (a second gets BusyError); senders queue in
   arrival order and each `send_all` goes out whole (stream.send.serialised).
3. Every operation is built on the public socket operations (`recv`,
   `sendall`, `close`) and `suspend`; the TLS stream (_tls.py) replaces the
   three transport methods and keeps the rest.
"""

from __future__ import annotations

import socket
from collections import deque
from types import TracebackType
from typing import Any, Final

from ._errors import (
    BusyError,
    ClosedError,
    IncompleteReadError,
    LimitOverrunError,
    LoopError,
)
from ._ops import close, recv, sendall
from ._runtime import current_task, running_loop_or_none
from ._stream_messages import FramedMessages, check_size
from ._suspend import Continuation, suspend
from ._task import Task

__all__ = ["DEFAULT_MAX_LINE", "Stream"]

DEFAULT_MAX_LINE: Final = 64 * 1024
RECEIVE_SIZE: Final = 64 * 1024


class Stream(FramedMessages):
    """A connected socket with a receive buffer. Build one around a connected
    non-blocking socket, or get one from `open_tcp_connection` or `serve_tcp`.
    The stream owns the socket: closing the stream closes it."""

    def __init__(
        self, sock: socket.socket, *, max_line: int = DEFAULT_MAX_LINE
    ) -> None:
        if not isinstance(sock, socket.socket):
            raise TypeError(f"Stream() needs a socket, got {sock!r}")
        if sock.gettimeout() != 0.0:
            raise ValueError(
                f"{sock!r} is in blocking mode; call sock.setblocking(False) first"
            )
        # Every argument is checked before any attribute is set: a refused
        # Stream is never half-built (its repr would fail in a traceback).
        self.max_line = check_size(max_line, "Stream max_line", 1)
        self.socket = sock
        self._buffer = bytearray()
        self._searched = 0  # receive_until looked for _searched_for this far
        self._searched_for = b""
        self._eof = False
        self._closed = False
        self._receiver: Task[Any] | None = None
        # Invariant: _sender is the task sending now; _senders wait behind it.
        self._sender: Task[Any] | None = None
        self._senders: deque[Continuation] = deque()

    # ------------------------------------------------------- the transport

    async def _receive_raw(self, size: int) -> bytes:
        return await recv(self.socket, size)

    async def _send_raw(self, data: bytes | bytearray | memoryview) -> None:
        await sendall(self.socket, data)

    def _close_raw(self) -> None:
        close(self.socket)

    # ------------------------------------------------------- receiving

    def _begin_receive(self, op: str) -> None:
        if self._closed:
            # spec: stream.closed
            raise ClosedError(
                f"{op}() on {self!r}, which is closed; open a new connection"
            )
        if self._receiver is not None:
            # spec: stream.one-receiver
            raise BusyError(
                f"{op}() on {self!r}: {self._receiver!r} is already receiving; "
                "let one task read the stream and hand the data on"
            )
        self._receiver = current_task()

    def _closed_while(self, op: str, err: ClosedError) -> None:
        """Raise the error for a task whose wait `close()` ended: it names
        the stream and the call, not the socket under it (spec: stream.close).
        Returns, so the caller re-raises the socket's error, for a socket
        closed under the stream (`refloop.close(stream.socket)`)."""
        if self._closed:
            raise ClosedError(f"{op}() on {self!r}, closed while it waited") from err

    async def _fill(self) -> bool:
        """Receive once into the buffer; False at end of stream."""
        if self._eof:
            return False
        data = await self._receive_raw(RECEIVE_SIZE)
        if not data:
            self._eof = True
            return False
        # spec: stream.keeps-bytes
        self._buffer += data
        return True

    async def receive_some(self, max_bytes: int = RECEIVE_SIZE) -> bytes:
        """Up to `max_bytes` bytes: what is buffered, else one receive.
        b"" only at end of stream (spec: stream.receive-some)."""
        check_size(max_bytes, "receive_some() max_bytes", 1)
        self._begin_receive("receive_some")
        try:
            buffer = self._buffer
            if not buffer:
                if self._eof:
                    return b""
                # spec: stream.receive-some
                return await self._receive_raw(max_bytes)
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            self._searched = 0
            return data
        except ClosedError as err:
            self._closed_while("receive_some", err)
            raise
        finally:
            self._receiver = None

    async def receive_until(self, delimiter: bytes, max_size: int) -> bytes:
        """The bytes up to and including the next `delimiter`, at most
        `max_size` bytes in all; b"" at a clean end of stream
        (spec: stream.until, stream.limit, stream.eof)."""
        if not isinstance(delimiter, bytes) or not delimiter:
            raise ValueError(
                f"receive_until() needs a non-empty bytes delimiter, got {delimiter!r}"
            )
        check_size(max_size, "receive_until() max_size", len(delimiter))
        self._begin_receive("receive_until")
        try:
            return await self._until(delimiter, max_size)
        except ClosedError as err:
            self._closed_while("receive_until", err)
            raise
        finally:
            self._receiver = None

    async def _until(self, delimiter: bytes, max_size: int) -> bytes:
        buffer = self._buffer
        if delimiter != self._searched_for:
            # How far another delimiter was looked for says nothing of this one.
            self._searched_for = delimiter
            self._searched = 0
        if not buffer and not self._eof:
            # The common case, one whole line per receive, without copying it
            # through the buffer.
            data = await self._receive_raw(RECEIVE_SIZE)
            if not data:
                self._eof = True
                return b""
            found = data.find(delimiter, 0, max_size)
            if found >= 0 and found + len(delimiter) == len(data):
                # spec: stream.until
                return data
            # spec: stream.keeps-bytes
            buffer += data
        while True:
            start = max(0, self._searched - len(delimiter) + 1)
            found = buffer.find(delimiter, start, max_size)
            if found >= 0:
                end = found + len(delimiter)
                line = bytes(buffer[:end])
                del buffer[:end]
                self._searched = 0
                # spec: stream.until
                return line
            # What was searched: a later call with a larger limit goes on
            # from there.
            self._searched = min(len(buffer), max_size)
            if len(buffer) >= max_size:
                # spec: stream.limit
                raise LimitOverrunError(
                    f"{self!r}: no {delimiter!r} in the first {max_size} bytes; "
                    "they stay buffered: raise the limit, drain them with "
                    "receive_some(), or close the stream"
                )
            if not await self._fill():
                if not buffer:
                    return b""
                # spec: stream.eof
                raise self._incomplete(None, f"before {delimiter!r}")

    def _incomplete(self, expected: int | None, what: str) -> IncompleteReadError:
        partial = bytes(self._buffer)
        self._buffer.clear()
        self._searched = 0
        return IncompleteReadError(
            f"{self!r}: the peer closed the stream after {len(partial)} bytes, {what}",
            partial,
            expected,
        )

    async def readline(self, max_line: int | None = None) -> bytes:
        """One line, ending in b"\\n", of at most `max_line` bytes (default:
        the stream's `max_line`); b"" at a clean end of stream."""
        limit = self.max_line if max_line is None else max_line
        return await self.receive_until(b"\n", limit)

    async def readexactly(self, n: int) -> bytes:
        """Exactly `n` bytes, or IncompleteReadError with what arrived."""
        check_size(n, "readexactly() n", 0)
        self._begin_receive("readexactly")
        try:
            return await self._exactly(n)
        except ClosedError as err:
            self._closed_while("readexactly", err)
            raise
        finally:
            self._receiver = None

    async def _exactly(self, n: int) -> bytes:
        await self._gather(n)
        return self._take(n)

    async def _gather(self, n: int) -> bytearray:
        """Wait until `n` bytes are buffered, taking none of them: a read
        cancelled while it waits leaves them all (spec: stream.keeps-bytes)."""
        buffer = self._buffer
        while len(buffer) < n:
            if not await self._fill():
                # spec: stream.eof
                raise self._incomplete(n, f"of {n} asked for")
        return buffer

    def _take(self, n: int) -> bytes:
        buffer = self._buffer
        data = bytes(buffer[:n])
        del buffer[:n]
        self._searched = 0
        return data

    # ------------------------------------------------------- sending

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of `data`; concurrent senders go in arrival order, each
        message whole (spec: stream.send.serialised)."""
        if self._closed:
            # spec: stream.closed
            raise ClosedError(
                f"send_all() on {self!r}, which is closed; open a new connection"
            )
        me = current_task()
        if self._sender is not None:
            # spec: stream.send.serialised
            await suspend(self._queue_sender)
            if self._closed:
                self._next_sender()
                raise ClosedError(f"send_all() on {self!r}, closed while it waited")
        self._sender = me
        try:
            await self._send_raw(data)
        except ClosedError as err:
            self._closed_while("send_all", err)
            raise
        finally:
            self._next_sender()

    def _queue_sender(self, k: Continuation) -> None:
        self._senders.append(k)
        k.on_cancel = lambda: self._senders.remove(k)

    def _next_sender(self) -> None:
        self._sender = None
        if self._senders:
            following = self._senders.popleft()
            self._sender = following.task
            following()

    # ------------------------------------------------------- closing

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the stream and its socket; waiters on it are woken with
        ClosedError. Closing twice is harmless (spec: stream.close)."""
        if self._closed:
            return
        if running_loop_or_none() is None and (
            self._receiver is not None or self._sender is not None
        ):
            # spec: stream.close.other-thread
            raise LoopError(
                f"close() of {self!r} outside its loop while a task uses it "
                "would leave that task waiting on a closed socket; call "
                "loop.call_soon_threadsafe(stream.close) instead"
            )
        # spec: stream.close
        self._closed = True
        self._buffer.clear()
        self._close_raw()
        while self._senders:
            self._senders.popleft()()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        try:
            peer: object = self.socket.getpeername()
        except OSError:
            peer = "closed" if self._closed else "unconnected"
        except AttributeError:  # __init__ refused its arguments
            peer = "unmade"
        return f"<{type(self).__name__} peer={peer!r}>"
