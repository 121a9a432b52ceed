"""The exceptions refloop raises.

Every error names the object it is about and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = [
    "BusyError",
    "ClosedError",
    "FrameError",
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


class FrameError(RefloopError, ValueError):
    """A framed message was malformed or too large (spec: msg.frame.*)."""
