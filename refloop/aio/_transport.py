"""refloop.aio's plain socket transport: asyncio's `_SelectorSocketTransport`
with its two per-message paths, the read and the write, in one frame each.

A request on an asyncio protocol server costs one read callback and one
`write()`; asyncio's read goes through two frames (`_read_ready`, then the
protocol kind's `_read_ready_cb`), and everything else the transport does
(flow control, the write buffer and its writer callback, pause/resume,
close, abort, EOF, sendfile, start_tls) happens once per connection or only
when the socket is full. So `SocketTransport` overrides only the read
callback and `write()`'s common case, and inherits the rest unchanged from
the Python it runs on (3.11 buffers in a bytearray, 3.12+ in a deque of
memoryviews; the inherited `_write_ready` matches).

Rules this module keeps (spec: aio.transport.*):

1. The read callback makes one `recv(max_size)` and hands what came straight
   to `data_received`; a buffered protocol takes asyncio's own
   `get_buffer`/`recv_into`/`buffer_updated` path; EOF, errors and a raising
   protocol go to asyncio's own handlers with asyncio's messages
   (aio.transport.read).
2. `write()` of bytes or a bytearray when nothing is buffered, EOF was not
   written, no sendfile runs and the connection is not lost sends at once;
   what the socket does not take is buffered exactly as asyncio buffers it,
   and the writer callback is registered. Every other call is asyncio's
   `write()` (aio.transport.write).

CPython's own unit tests of `_SelectorSocketTransport` (test_selector_events'
transport classes, with mock sockets) run against this class through
refloop.aio.conformance's `test_selector_events` suite.
"""

from __future__ import annotations

from asyncio import BufferedProtocol, selector_events
from typing import Any

__all__ = ["SocketTransport"]

# asyncio's transport, untyped: it is private and not in typeshed (its private
# attributes this class uses are pinned by tests/test_aio_pins.py).
_Base: Any = selector_events._SelectorSocketTransport  # type: ignore[attr-defined]


class SocketTransport(_Base):  # type: ignore[misc]
    """asyncio's plain socket transport with a one-frame read and write."""

    # Invariant: True exactly when the protocol is a BufferedProtocol (kept
    # by set_protocol, which asyncio's constructor calls).
    _buffered = False

    def set_protocol(self, protocol: Any) -> None:
        super().set_protocol(protocol)
        self._buffered = isinstance(protocol, BufferedProtocol)

    def _read_ready(self) -> None:
        """The reader's callback: asyncio's `_read_ready__data_received` in
        the callback's own frame."""
        if self._conn_lost:
            return
        if self._buffered:
            self._read_ready__get_buffer()
            return
        try:
            # spec: aio.transport.read
            data = self._sock.recv(self.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            self._read_ready__on_eof()
            return
        try:
            self._protocol.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")

    def write(self, data: Any) -> None:
        kind = type(data)
        if (
            (kind is not bytes and kind is not bytearray)
            or not data
            or self._buffer
            or self._conn_lost
            or self._eof
            or self._empty_waiter is not None
        ):
            # Everything but the common case, and every refusal: asyncio's.
            super().write(data)
            return
        try:
            # spec: aio.transport.write
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        if sent != len(data):
            self._buffer_rest(data, sent)

    def _buffer_rest(self, data: bytes | bytearray, sent: int) -> None:
        """What asyncio's write() does with the part `send` did not take:
        register the writer, buffer it, maybe pause the protocol."""
        self._loop._add_writer(self._sock_fd, self._write_ready)
        buffer = self._buffer
        if type(buffer) is bytearray:
            # 3.11: one bytearray.
            buffer.extend(data[sent:] if sent else data)
        else:
            # 3.12+: a deque of chunks; a partly sent one as a memoryview.
            buffer.append(memoryview(data)[sent:] if sent else data)
        self._maybe_pause_protocol()


def _serve_reads_from_the_heap() -> None:
    """Make glibc's malloc serve `recv(max_size)`'s buffers from its heap.

    `recv(n)` allocates an n-byte bytes object and shrinks it to what came.
    glibc maps allocations above its mmap threshold (128 KiB until the
    process frees a larger mapped block, which raises the threshold to that
    block's size) with their own mmap, so in a process where nothing raised
    it every 256 KiB read costs an mmap, an mremap and an munmap besides the
    recv (measured: a fresh asyncio server makes all three per request).
    Freeing one mapped block larger than a read raises the threshold once
    for the process, as glibc documents (mallopt(3), M_MMAP_THRESHOLD); on
    other allocators it is one short-lived allocation.
    """
    # spec: aio.transport.read
    block = bytes(_Base.max_size + 65536)
    del block


_serve_reads_from_the_heap()
