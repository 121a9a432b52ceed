"""The callables the harness hands the loop: model callbacks (which record
that they ran, then do what their effect says), the calls another thread
makes (refloop.model.foreign), and the posts that resume a continuation."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .. import _ops as ops
from .._errors import LoopError
from .._suspend import Continuation
from ..model import Callback

if TYPE_CHECKING:
    from .harness import Harness

__all__ = [
    "CallbackInterrupt",
    "ModelCallback",
    "foreign",
    "foreign_outcome",
    "resume_unless_cancelled",
]


class CallbackInterrupt(BaseException):
    """A user's own BaseException, raised by a callback whose effect is
    "base" (timer.callback-base-exception); the harness catches it around
    run_once."""


class ModelCallback:
    """The callable the harness schedules for model callback `n`: it records
    that it ran, then does what its effect says."""

    def __init__(self, harness: Harness, n: int, callback: Callback) -> None:
        self.harness, self.n, self.callback = harness, n, callback

    def __call__(self) -> None:
        harness, target = self.harness, self.callback.target
        harness.called.append(self.n)
        match self.callback.effect:
            case "error":
                raise ValueError(f"callback {self.n} fails")
            case "base":
                raise CallbackInterrupt(f"callback {self.n} interrupts")
            case "cancel":
                if 0 <= target < len(harness.tasks):
                    harness.tasks[target].cancel()
            case "again":
                harness.call_when_idle(Callback("ok"))
            case "stop":
                getattr(harness.loop, "stop")()  # noqa: B009 (not in LoopUnderTest)
            case "withdraw":
                handle = harness.handles.get(target)
                if handle is not None and target != self.n:
                    handle.cancel()

    def __repr__(self) -> str:
        return f"<callback {self.n} {self.callback.effect}>"


def foreign_outcome(harness: Harness, call: str, target: int | str) -> str:
    """`call` on `target` from another thread, a real one joined at once:
    its outcome, "LoopError" when refused, else its result's repr."""
    outcome: list[str] = []

    def attempt() -> None:
        try:
            outcome.append(repr(foreign(harness, call, target)))
        except LoopError:
            outcome.append("LoopError")
        except Exception as error:  # reported as the mismatch it is
            outcome.append(f"{type(error).__name__}: {error}")

    caller = threading.Thread(target=attempt)
    caller.start()
    caller.join()
    return outcome[0]


def foreign(harness: Harness, call: str, target: int | str) -> object:
    """`call` on `target`, as another thread makes it (the caller runs this
    on that thread): its result, or the exception it raises."""
    loop = harness.loop
    match call, target:
        case "cancel", int():
            return harness.tasks[target].cancel()
        case "resume", int():
            return harness.held[target](None)
        case "withdraw", int():
            harness.handles[target].cancel()
            return None
        case "call_later", _:
            return loop.call_later(0, _nothing)
        case "call_when_idle", _:
            return loop.call_when_idle(_nothing)
        case "spawn", _:
            return loop.spawn(_finish_at_once())
        case "close_socket", str():
            loop.close_socket(harness.socks[target])
            return None
        case "close", str():
            ops.close(harness.socks[target])
            return None
        case "snapshot", _:
            return loop.snapshot()
    raise ValueError(f"no foreign call {call!r} on {target!r}")


def resume_unless_cancelled(k: Continuation) -> None:
    """What a thread posts to hand a held continuation back."""
    if not k.resumed:
        k()


def _nothing() -> None:
    pass


async def _finish_at_once() -> None:
    pass
