"""One buffered stream, as the task that reads and writes it and its peer see
it (spec chapter 12: stream.*, and chapter 4's frames over it).

Rules this module keeps:

1. The state is what the peer has sent that no read has taken (`pending`),
   not where those bytes sit. Every byte received goes into the stream's
   buffer (stream.keeps-bytes), so which of them are still in the kernel is
   the implementation's business and no read may depend on it.
2. A read is a pure function of the state: `read(state, op)` gives the
   outcome and the state after, or `BLOCKED` with the state unchanged. A
   blocked read that is then cancelled leaves the state as it was; a blocked
   read is asked again whenever the state changes.
3. `receive_some` is the one read with a choice: it returns what is buffered,
   else one `recv`, so its outcome is `SomeOf(limit)` (any non-empty prefix
   of `pending`, at most `limit` bytes), and the caller consumes what the
   real stream returned.
4. What the stream sends is `sent`: the messages in the order their
   `send_all` calls arrived (stream.send.serialised).

Decoding uses `json` as the spec's reference for "UTF-8 JSON" (RFC 8259,
without NaN or infinities: msg.frame.symmetric); it is pure.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "BLOCKED",
    "Blocked",
    "RaisedOn",
    "Read",
    "ReadExactly",
    "ReadLine",
    "ReceiveSome",
    "ReceiveUntil",
    "RecvMessage",
    "Returned",
    "SomeOf",
    "StreamState",
    "close",
    "consume",
    "decode",
    "encode",
    "peer_close",
    "peer_send",
    "read",
    "second_read",
    "send_all",
    "send_message",
    "withdraw",
]

HEADER: Final = 4
LARGEST: Final = (1 << 8 * HEADER) - 1


@dataclass(frozen=True)
class StreamState:
    pending: bytes = b""  # sent by the peer, taken by no read yet
    eof: bool = False  # the peer closed its side
    closed: bool = False  # the stream was closed
    max_line: int = 64 * 1024
    sent: bytes = b""  # what the stream sent, in the order of the calls


# ---------------------------------------------------------------- reads


@dataclass(frozen=True)
class ReceiveSome:
    max_bytes: int


@dataclass(frozen=True)
class ReceiveUntil:
    delimiter: bytes
    max_size: int


@dataclass(frozen=True)
class ReadLine:
    max_line: int | None = None


@dataclass(frozen=True)
class ReadExactly:
    n: int


@dataclass(frozen=True)
class RecvMessage:
    max_size: int


Read = ReceiveSome | ReceiveUntil | ReadLine | ReadExactly | RecvMessage


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Returned:
    value: object  # bytes, or the JSON value of a frame


@dataclass(frozen=True)
class SomeOf:
    limit: int  # a non-empty prefix of pending, at most this long


@dataclass(frozen=True)
class RaisedOn:
    error: str  # the exception's class name
    partial: bytes | None = None  # IncompleteReadError.partial
    expected: int | None = None  # IncompleteReadError.expected


@dataclass(frozen=True)
class Blocked:
    pass


BLOCKED: Final = Blocked()
Outcome = Returned | SomeOf | RaisedOn | Blocked


def _size_ok(value: int, minimum: int) -> bool:
    return type(value) is int and value >= minimum


def _refused(s: StreamState, op: Read) -> RaisedOn | None:
    """The error a read raises before it starts, if any: its arguments,
    then a closed stream."""
    match op:
        case ReceiveSome(max_bytes=n):
            ok = _size_ok(n, 1)
        case ReceiveUntil(delimiter=d, max_size=n):
            ok = isinstance(d, bytes) and bool(d) and _size_ok(n, len(d))
        case ReadLine(max_line=n):
            ok = _size_ok(s.max_line if n is None else n, 1)
        case ReadExactly(n=n):
            ok = _size_ok(n, 0)
        case RecvMessage(max_size=n):
            # spec: stream.messages.args
            ok = not isinstance(n, bool) and isinstance(n, int) and n >= 1
    if not ok:
        return RaisedOn("ValueError")
    if s.closed:
        # spec: stream.closed
        return RaisedOn("ClosedError")
    return None


def read(s: StreamState, op: Read) -> tuple[StreamState, Outcome]:
    """What `op` does to a stream in state `s` (rule 2).

    post: __return__[1] is not BLOCKED or __return__[0] == s
    post: s.pending.endswith(__return__[0].pending)
    post: __return__[0].sent == s.sent
    """
    refused = _refused(s, op)
    if refused is not None:
        return s, refused
    match op:
        case ReceiveSome(max_bytes=n):
            if s.pending:
                # spec: stream.receive-some
                return s, SomeOf(n)
            return s, (Returned(b"") if s.eof else BLOCKED)
        case ReceiveUntil(delimiter=d, max_size=n):
            return _until(s, d, n)
        case ReadLine(max_line=n):
            return _until(s, b"\n", s.max_line if n is None else n)
        case ReadExactly(n=n):
            return _exactly(s, n)
        case RecvMessage(max_size=n):
            return _message(s, n)


def second_read(s: StreamState, op: Read) -> RaisedOn:
    """A read started while another task's read waits: refused, the state
    unchanged (its arguments are checked first)."""
    refused = _refused(s, op)
    # spec: stream.one-receiver
    return refused if refused is not None else RaisedOn("BusyError")


def consume(s: StreamState, count: int) -> StreamState:
    """`s` after a read took the first `count` pending bytes."""
    return replace(s, pending=s.pending[count:])


def _incomplete(s: StreamState, expected: int | None) -> tuple[StreamState, Outcome]:
    # spec: stream.eof
    return replace(s, pending=b""), RaisedOn("IncompleteReadError", s.pending, expected)


def _until(s: StreamState, delimiter: bytes, limit: int) -> tuple[StreamState, Outcome]:
    found = s.pending.find(delimiter, 0, limit)
    if found >= 0:
        end = found + len(delimiter)
        # spec: stream.until
        return consume(s, end), Returned(s.pending[:end])
    if len(s.pending) >= limit:
        # spec: stream.limit
        return s, RaisedOn("LimitOverrunError")
    if not s.eof:
        return s, BLOCKED
    if not s.pending:
        return s, Returned(b"")
    return _incomplete(s, None)


def _exactly(s: StreamState, n: int) -> tuple[StreamState, Outcome]:
    if len(s.pending) >= n:
        return consume(s, n), Returned(s.pending[:n])
    if not s.eof:
        return s, BLOCKED
    return _incomplete(s, n)


def _message(s: StreamState, max_size: int) -> tuple[StreamState, Outcome]:
    pending = s.pending
    if len(pending) < HEADER:
        if not s.eof:
            return s, BLOCKED
        # spec: stream.messages
        error = "FrameError" if pending else "EOFError"
        return replace(s, pending=b""), RaisedOn(error)
    size = int.from_bytes(pending[:HEADER], "big")
    if size > max_size:
        # spec: msg.frame.bad-header-closes
        return close(s), RaisedOn("FrameError")
    end = HEADER + size
    if len(pending) < end:
        if not s.eof:
            # spec: stream.keeps-bytes
            return s, BLOCKED
        return replace(s, pending=b""), RaisedOn("FrameError")
    ok, value = decode(pending[HEADER:end])
    after = consume(s, end)
    # spec: msg.frame.bad-body-keeps
    return after, (Returned(value) if ok else RaisedOn("FrameError"))


def decode(body: bytes) -> tuple[bool, object]:
    """Whether a frame's body is UTF-8 JSON with finite numbers, and its value."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None
    return _finite(value), value


def _no_constant(name: str) -> object:
    raise ValueError(name)


def _finite(value: object) -> bool:
    """No float in `value` is an infinity (a literal like 1e999 overflows)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return True


# ---------------------------------------------------------------- sending


def encode(obj: object, max_size: int) -> bytes | None:
    """The frame for `obj`, or None if it has none (msg.frame.encode)."""
    try:
        text = json.dumps(
            obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        body = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        return None
    if len(body) > min(max_size, LARGEST):
        # spec: msg.frame.max
        return None
    return len(body).to_bytes(HEADER, "big") + body


def send_all(s: StreamState, data: bytes) -> tuple[StreamState, RaisedOn | None]:
    if s.closed:
        # spec: stream.closed
        return s, RaisedOn("ClosedError")
    # spec: stream.send.serialised
    return replace(s, sent=s.sent + data), None


def withdraw(s: StreamState, message: bytes, later: int) -> StreamState:
    """A sender queued behind another was cancelled: nothing of `message`
    is sent, and the `later` bytes of the senders queued after it follow
    what came before it.

    pre: later >= 0
    pre: len(message) + later <= len(s.sent)
    post: len(__return__.sent) == len(s.sent) - len(message)
    post: s.sent.endswith(__return__.sent[len(__return__.sent) - later :])
    """
    end = len(s.sent) - later
    start = end - len(message)
    # spec: stream.send.serialised
    return replace(s, sent=s.sent[:start] + s.sent[end:])


def send_message(
    s: StreamState, obj: object, max_size: int
) -> tuple[StreamState, RaisedOn | None]:
    """`send_message`: its argument, then the frame, then the stream."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        # spec: stream.messages.args
        return s, RaisedOn("ValueError")
    frame = encode(obj, max_size)
    if frame is None:
        return s, RaisedOn("FrameError")
    return send_all(s, frame)


# ---------------------------------------------------------------- the peer


def peer_send(s: StreamState, data: bytes) -> StreamState:
    return replace(s, pending=s.pending + data)


def peer_close(s: StreamState) -> StreamState:
    return replace(s, eof=True)


def close(s: StreamState) -> StreamState:
    """The stream closed: its buffer is dropped (stream.close)."""
    # spec: stream.close
    return replace(s, closed=True, pending=b"")
