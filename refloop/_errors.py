"""The exceptions refloop raises.

Every error names the object it is about and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "BusyError",
    "Cancelled",
    "ChannelClosed",
    "ClosedError",
    "EndOfChannel",
    "FrameError",
    "IncompleteReadError",
    "LimitOverrunError",
    "LoopError",
    "RefloopError",
    "ResumeError",
]


class RefloopError(Exception):
    """Base class of every error refloop raises itself."""


class ResumeError(RefloopError):
    """A continuation was resumed a second time (spec: cont.one-shot)."""


class BusyError(RefloopError):
    """A second task tried to wait on a socket direction that is already held
    (spec: io.wait.one-per-direction)."""


class ClosedError(RefloopError, OSError):
    """The socket was closed through refloop, before or while a task used it
    (spec: io.close.wakes, io.closed.rejects)."""


class LoopError(RefloopError, RuntimeError):
    """The loop was used wrongly: not running, already running, closed, or
    called from the wrong place."""


class Cancelled(BaseException):
    """Raised in a task at its suspension point when it is cancelled
    (spec: cancel.*). A BaseException, like asyncio's CancelledError, so that
    `except Exception` does not swallow it. `scope` is the timeout or task
    group that asked, or None for a plain `task.cancel()`."""

    def __init__(self, message: str = "cancelled", scope: object = None) -> None:
        super().__init__(message)
        self.scope = scope


class FrameError(RefloopError, ValueError):
    """A framed message was malformed or too large (spec: msg.frame.*)."""


class ChannelClosed(RefloopError):
    """A send on a channel that was closed before or while it waited; the item
    was not sent (spec: chan.send.closed, chan.close)."""


class EndOfChannel(RefloopError):
    """A receive on a channel that is closed and has nothing left
    (spec: chan.close)."""


class IncompleteReadError(RefloopError, EOFError):
    """The peer closed the stream before a read had what it needed. `partial`
    holds the bytes that did arrive (they are no longer buffered); `expected`
    is the count asked for, or None for a delimiter (spec: stream.eof)."""

    def __init__(self, message: str, partial: bytes, expected: int | None) -> None:
        super().__init__(message)
        self.partial = partial
        self.expected = expected


class LimitOverrunError(RefloopError, ValueError):
    """No delimiter within the limit; the bytes stay buffered
    (spec: stream.limit)."""
