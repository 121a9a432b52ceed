"""The harness's side of the loop's lifecycle and of raising handlers:
`run_forever`, `stop`, `shutdown` and `close` on the real loop, and the
handlers a model `Suspend` stands for (refloop.model.lifecycle,
refloop.model.handlers).

Like `Harness.run`, `run_forever` and `shutdown` are stopped where their
poll would wait for the environment to act: the ShimSelector raises
WouldBlockForever there, reported as "blocks".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from .. import _ops as ops
from .._errors import LoopError
from .._suspend import Continuation
from .._task import Task
from ..model import Event, event
from .bound import Unsettled, bounded
from .calls import CallbackInterrupt
from .protocol import LoopUnderTest
from .shim import ShimSelector, WouldBlockForever

__all__ = [
    "HandlerBase",
    "HandlerError",
    "HandlerInterrupt",
    "LifecycleHarness",
    "raising_handler",
]


class HandlerError(Exception):
    """Raised by a model `Suspend("error")`'s handler."""


class HandlerBase(BaseException):
    """A user's own BaseException, raised by a `Suspend("base")`'s handler."""


class HandlerInterrupt(KeyboardInterrupt):
    """A KeyboardInterrupt, raised by a `Suspend("interrupt")`'s handler; it
    ends the iteration (cont.handler-base-exception). The harness catches
    this class only, so a real Ctrl-C still stops the test."""


class CleanupError(Exception):
    """Raised by the cleanup of an `OnClose("error")` when the loop closes
    the task's coroutine (loop.close.raises)."""


class CleanupInterrupt(KeyboardInterrupt):
    """Raised by the cleanup of an `OnClose("interrupt")`; `close()` raises
    it once the loop is closed (loop.close.raises)."""


async def misbehave(raises: str) -> None:
    """What the cleanup of an `OnClose(raises)` does when its coroutine is
    closed (the GeneratorExit is then replaced or ignored)."""
    match raises:
        case "error":
            raise CleanupError("a cleanup that fails")
        case "interrupt":
            raise CleanupInterrupt("a cleanup that interrupts")
        case "await":
            await ops.yield_now()  # Python: "coroutine ignored GeneratorExit"
    raise ValueError(f"no misbehaving cleanup {raises!r}")


def raising_handler(raises: str) -> Callable[[Continuation], None]:
    """The handler a model `Suspend(raises)` stands for."""

    def handler(k: Continuation) -> None:
        match raises:
            case "error":
                raise HandlerError(f"the handler of {k.task!r} fails")
            case "base":
                raise HandlerBase(f"the handler of {k.task!r} fails")
            case "interrupt":
                raise HandlerInterrupt(f"the handler of {k.task!r} interrupts")
            case "resumed":
                k()
                raise HandlerError(f"the handler of {k.task!r} resumed it, then failed")
        raise ValueError(f"no raising handler {raises!r}")

    return handler


def _grace(grace: float) -> float:
    return grace if math.isfinite(grace) or math.isnan(grace) else math.inf


class LifecycleHarness:
    """Harness methods for the loop's lifecycle (mixed into Harness)."""

    loop: LoopUnderTest
    selector: ShimSelector
    trace: list[Event]
    held: dict[int, Continuation]
    abandoned: list[Continuation]
    escaped: bool

    def _until_blocked(self, call: Callable[[], object]) -> tuple[list[Event], str]:
        """Make `call` on the real loop, stopped where a poll would wait; its
        events (polls among the loop's trace) and its outcome."""
        self.trace.clear()
        self.selector.expect = None
        self.selector.stop_on_wait = True
        self.selector.on_poll = lambda timeout: self.trace.append(event.Poll(timeout))
        try:
            with bounded():
                call()
            outcome = "done"
        except WouldBlockForever:
            outcome = "blocks"
        except Unsettled:
            outcome = "unsettled"
        except CallbackInterrupt:
            outcome = "escaped"
        except (LoopError, ValueError, HandlerInterrupt) as error:
            outcome = type(error).__name__
        finally:
            self.selector.stop_on_wait = False
            self.selector.on_poll = None
        return list(self.trace), outcome

    # spec: loop.stop
    def run_forever(self) -> tuple[list[Event], str]:
        """`loop.run_forever()`: "stopped" when it returns."""
        events, outcome = self._until_blocked(getattr(self.loop, "run_forever"))  # noqa: B009
        return events, "stopped" if outcome == "done" else outcome

    # spec: loop.stop.pending
    def stop(self) -> None:
        getattr(self.loop, "stop")()  # noqa: B009 (not in LoopUnderTest)

    # spec: loop.shutdown
    def shutdown(self, grace: float) -> tuple[list[Event], str, list[int]]:
        """`loop.shutdown(grace)`: its events, outcome and the numbers of the
        tasks it returned as left."""
        left: list[Task[Any]] = []

        def call() -> None:
            left.extend(getattr(self.loop, "shutdown")(_grace(grace)))  # noqa: B009

        events, outcome = self._until_blocked(call)
        return events, outcome, [task.tid for task in left]

    # spec: loop.close
    def close(self) -> tuple[str, int]:
        """`loop.close()` (the sockets stay open: Harness.dispose closes
        them); the continuations held then are kept, to be refused. What it
        raised ("None", or "KeyboardInterrupt" for a cleanup's
        CleanupInterrupt) and how many records it logged at ERROR on the
        `refloop` logger (loop.close.raises)."""
        if not self.abandoned:
            self.abandoned = list(self.held.values())
        records = _Records()
        logger = logging.getLogger("refloop")
        logger.addHandler(records)
        try:
            self.loop.close()
            raised = "None"
        except CleanupInterrupt:
            raised = "KeyboardInterrupt"
        finally:
            logger.removeHandler(records)
        return raised, records.errors


class _Records(logging.Handler):
    """Counts the records at ERROR or above it is given."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.errors += 1
