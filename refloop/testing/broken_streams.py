"""Deliberately broken streams: each breaks one rule of spec chapter 12, and
the stream machine (refloop/testing/stream_machine.py) must catch every one
(tests/test_broken_streams.py).

Each is a small subclass of the real `Stream` that changes one method, so
what is tested is the machine's power to notice that one change.
"""

from __future__ import annotations

from typing import Any

from .._errors import Cancelled, ClosedError, FrameError, IncompleteReadError
from .._framing import DEFAULT_MAX_FRAME, check_max_size, decode_body
from .._streams import Stream
from .._task import Task

__all__ = ["BROKEN_STREAMS"]


class HeaderFirstStream(Stream):
    """recv_message takes the header out of the buffer before the body has
    arrived, so a read cancelled half-way loses it and the next one reads
    the body as a header (breaks stream.keeps-bytes; the defect the machine
    found in the real stream)."""

    async def recv_message(self, *, max_size: int = DEFAULT_MAX_FRAME) -> object:
        check_max_size(max_size, "recv_message")
        self._begin_receive("recv_message")
        try:
            try:
                header = await self._exactly(4)
            except IncompleteReadError as err:
                if err.partial:
                    raise FrameError(f"{self!r} closed inside a header") from None
                raise EOFError(f"{self!r}: the peer closed the stream") from None
            size = int.from_bytes(header, "big")
            if size > max_size:
                self._receiver = None
                self.close()
                raise FrameError(f"{self!r} announced {size} bytes; closed")
            try:
                body = await self._exactly(size)
            except IncompleteReadError:
                raise FrameError(f"{self!r} closed in a frame") from None
            return decode_body(body, self)
        finally:
            self._receiver = None


class DropOnCancelStream(Stream):
    """A receive_until cancelled while it waits clears the buffer (breaks
    stream.keeps-bytes)."""

    async def _until(self, delimiter: bytes, max_size: int) -> bytes:
        try:
            return await super()._until(delimiter, max_size)
        except Cancelled:
            self._buffer.clear()
            raise


class TwoReadersStream(Stream):
    """A second reader is let in instead of refused (breaks
    stream.one-receiver)."""

    def _begin_receive(self, op: str) -> None:
        receiver: Task[Any] | None = self._receiver
        self._receiver = None
        try:
            super()._begin_receive(op)
        finally:
            if receiver is not None:
                self._receiver = receiver


class DeafCloseStream(Stream):
    """close() closes the socket behind the loop's back: a task reading the
    stream is left waiting on a closed descriptor (breaks stream.close)."""

    def _close_raw(self) -> None:
        self.socket.close()


class SocketNamingStream(Stream):
    """A task whose wait close() ended gets the socket's ClosedError, which
    names a socket the user never opened and not the stream or the call
    (breaks stream.close; the stream did this until stop 24)."""

    def _closed_while(self, op: str, err: ClosedError) -> None:
        return


class CutInStream(Stream):
    """A sender that arrives while another sends goes first when it is
    woken: the newest queued sender, not the oldest (breaks
    stream.send.serialised)."""

    def _next_sender(self) -> None:
        self._senders.reverse()
        super()._next_sender()


BROKEN_STREAMS: dict[str, type[Stream]] = {
    cls.__name__: cls
    for cls in [
        HeaderFirstStream,
        DropOnCancelStream,
        TwoReadersStream,
        DeafCloseStream,
        SocketNamingStream,
        CutInStream,
    ]
}
