"""Framed messages: the seed's `read/` and `write/`, for JSON values.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON. Rules this module keeps (spec: msg.*):

1. Nothing is sent unless the whole frame can be: an unencodable or oversized
   value raises FrameError before a byte leaves.
2. A frame whose header is bad (too large) cannot be skipped safely, so the
   socket is closed before FrameError is raised. A frame whose body is bad
   (not UTF-8, not JSON) was read whole, so the stream stays usable.
"""

from __future__ import annotations

import json
import reprlib
import socket
from typing import Final

from ._errors import FrameError
from ._ops import close, recv, sendall

__all__ = ["DEFAULT_MAX_FRAME", "recv_message", "send_message"]

DEFAULT_MAX_FRAME: Final = 1 << 20
_HEADER: Final = 4
_LARGEST: Final = (1 << 8 * _HEADER) - 1


def check_max_size(max_size: object, what: str) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        # spec: msg.frame.args
        raise ValueError(
            f"{what}() max_size must be a positive int of bytes, got {max_size!r}"
        )
    return max_size


def _describe(obj: object) -> str:
    """A short repr of `obj` for an error message (never raises)."""
    try:
        return reprlib.repr(obj)
    except (ValueError, RecursionError):
        return f"a {type(obj).__name__}"


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:
        raise ValueError(f"{text} is out of the range of a float")
    return value


def encode_message(obj: object, max_size: int = DEFAULT_MAX_FRAME) -> bytes:
    """The frame for `obj`, or FrameError if it has none (spec: msg.frame.encode)."""
    try:
        # spec: msg.frame.encode
        text = json.dumps(
            obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as err:
        raise FrameError(f"cannot send {_describe(obj)} as a message: {err}") from None
    except RecursionError:
        # spec: msg.frame.symmetric
        raise FrameError(
            "cannot send a message nested deeper than the interpreter's recursion limit"
        ) from None
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise FrameError(f"cannot send {_describe(obj)} as a message: {err}") from None
    if len(body) > max_size or len(body) > _LARGEST:
        # spec: msg.frame.max
        raise FrameError(
            f"a message of {len(body)} bytes exceeds the maximum frame size "
            f"{max_size}; nothing was sent"
        )
    return len(body).to_bytes(_HEADER, "big") + body


async def send_message(
    sock: socket.socket, obj: object, *, max_size: int = DEFAULT_MAX_FRAME
) -> None:
    """Send `obj` as one frame (spec: msg.frame.encode)."""
    await sendall(sock, encode_message(obj, check_max_size(max_size, "send_message")))


class _EndOfStream(Exception):
    pass


async def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    parts: list[bytes] = []
    missing = count
    while missing:
        chunk = await recv(sock, missing)
        if not chunk:
            if missing == count:
                raise _EndOfStream
            raise FrameError(
                f"{sock!r} closed in the middle of a frame: "
                f"{count - missing} of {count} bytes arrived"
            )
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


async def recv_message(
    sock: socket.socket, *, max_size: int = DEFAULT_MAX_FRAME
) -> object:
    """Receive one frame and return its value. Raises EOFError if the peer
    closed the stream at a frame boundary (spec: msg.frame.eof)."""
    check_max_size(max_size, "recv_message")
    try:
        header = await _recv_exactly(sock, _HEADER)
    except _EndOfStream:
        # spec: msg.frame.eof
        raise EOFError(f"{sock!r}: the peer closed the stream") from None
    size = int.from_bytes(header, "big")
    if size > max_size:
        # spec: msg.frame.bad-header-closes
        close(sock)
        raise FrameError(
            f"{sock!r} announced a frame of {size} bytes, over the maximum "
            f"{max_size}; the socket was closed, since the stream cannot be "
            "resynchronised"
        )
    try:
        body = await _recv_exactly(sock, size)
    except _EndOfStream:
        raise FrameError(f"{sock!r} closed after a frame header") from None
    return decode_body(body, sock)


def decode_body(body: bytes, source: object) -> object:
    """The value a frame's body carries, or FrameError naming `source`."""
    try:
        # spec: msg.frame.bad-body-keeps
        # spec: msg.frame.symmetric
        return json.loads(
            body.decode("utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise FrameError(
            f"a frame of {len(body)} bytes from {source!r} is not UTF-8 JSON "
            f"({err}); the stream is still usable"
        ) from None
