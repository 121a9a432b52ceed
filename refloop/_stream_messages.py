"""Framed messages (spec: msg.*) over a buffered Stream (spec: stream.messages).

The frame is chapter 4's: a 4-byte big-endian length, then UTF-8 JSON, so a
stream and a socket-level `send_message`/`recv_message` talk to each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ._errors import ClosedError, FrameError, IncompleteReadError
from ._framing import DEFAULT_MAX_FRAME, check_max_size, decode_body, encode_message

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["FramedMessages", "check_size"]

_HEADER: Final = 4


def check_size(value: object, what: str, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return value


class FramedMessages:
    """The message methods of Stream."""

    _receiver: Task[Any] | None

    def _begin_receive(self, op: str) -> None:
        raise NotImplementedError

    async def _gather(self, n: int) -> bytearray:
        raise NotImplementedError

    def _closed_while(self, op: str, err: ClosedError) -> None:
        raise NotImplementedError

    def _take(self, n: int) -> bytes:
        raise NotImplementedError

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    async def send_message(
        self, obj: object, *, max_size: int = DEFAULT_MAX_FRAME
    ) -> None:
        """Send `obj` as one frame (spec: msg.frame.encode, stream.messages)."""
        # spec: stream.messages.args
        check_max_size(max_size, "send_message")
        await self.send_all(encode_message(obj, max_size))

    async def recv_message(self, *, max_size: int = DEFAULT_MAX_FRAME) -> object:
        """Receive one frame from the stream (spec: stream.messages)."""
        # spec: stream.messages.args
        check_max_size(max_size, "recv_message")
        self._begin_receive("recv_message")
        try:
            # The frame is taken only once it is whole, so a read cancelled
            # half-way leaves the header for the next one (spec: stream.keeps-bytes).
            try:
                header = await self._gather(_HEADER)
            except IncompleteReadError as err:
                if err.partial:
                    raise FrameError(f"{self!r} closed inside a frame header") from None
                # spec: stream.messages
                raise EOFError(f"{self!r}: the peer closed the stream") from None
            size = int.from_bytes(header[:_HEADER], "big")
            if size > max_size:
                self._receiver = None
                self.close()
                raise FrameError(
                    f"{self!r} announced a frame of {size} bytes, over the maximum "
                    f"{max_size}; the stream was closed, since it cannot be "
                    "resynchronised"
                )
            try:
                await self._gather(_HEADER + size)
            except IncompleteReadError:
                raise FrameError(f"{self!r} closed in the middle of a frame") from None
            return decode_body(self._take(_HEADER + size)[_HEADER:], self)
        except ClosedError as err:
            self._closed_while("recv_message", err)
            raise
        finally:
            self._receiver = None
