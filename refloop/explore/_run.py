"""One explored run: a fresh refloop.aio loop on a virtual clock and a
controlling selector, the test's coroutine as its main task.

Rules this module keeps (spec: explore.*):

1. Each run makes a new loop, clock and selector; nothing carries over from
   one run to the next but the decider's choices (explore.run).
2. A run that cannot progress ends with a report naming every task and what
   it waits on, with its stack (explore.deadlock).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import aio
from .._clock import VirtualClock
from ._decide import Decider
from ._selector import Deadlock, ExploreSelector, Livelock, OutsideWorld
from ._timeline import Tracer

__all__ = ["Outcome", "Settings", "run_one"]


@dataclass(frozen=True)
class Settings:
    """The bounds of the environment's freedom in a run."""

    hold: int = 2
    slack: float = 0.1
    max_polls: int = 5000

    def __post_init__(self) -> None:
        if not isinstance(self.hold, int) or self.hold < 0:
            raise ValueError(f"hold must be an int >= 0 (polls), got {self.hold!r}")
        if not self.slack >= 0 or self.slack == float("inf"):
            raise ValueError(f"slack must be finite seconds >= 0, got {self.slack!r}")
        if not isinstance(self.max_polls, int) or self.max_polls < 1:
            raise ValueError(f"max_polls must be an int >= 1, got {self.max_polls!r}")


@dataclass
class Outcome:
    """What one run did."""

    decider: Decider
    error: BaseException | None
    polls: int
    virtual_time: float
    tasks: str = ""
    handled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None


def _deadlines(loop: aio.RefloopEventLoop) -> list[float]:
    # The native loop's timers() (refloop.Loop.timers), firing order.
    return [h.when for h in loop.native.timers()]


def run_one(
    test: Callable[[], Any],
    decider: Decider,
    settings: Settings = Settings(),
    tracer: Tracer | None = None,
) -> Outcome:
    """Run `test()` (a coroutine function's call) once under `decider`;
    with a `Tracer`, record every task step for the timeline."""
    clock = VirtualClock()
    box: list[aio.RefloopEventLoop] = []
    selector = ExploreSelector(
        decider,
        clock,
        lambda: _deadlines(box[0]),
        hold=settings.hold,
        slack=settings.slack,
        max_polls=settings.max_polls,
    )
    # spec: explore.run
    loop = aio.new_event_loop(clock=clock, selector=selector)
    box.append(loop)
    if tracer is not None:
        tracer.clock = clock
        tracer.install(loop)
    handled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: handled.append(context))
    error: BaseException | None = None
    tasks = ""
    try:
        main = loop.create_task(test(), name="main")
        loop.run_until_complete(main)
    except (Deadlock, Livelock, OutsideWorld) as exc:
        error = exc
        # spec: explore.deadlock
        tasks = describe_tasks(loop)
    except Exception as exc:
        error = exc
    finally:
        polls, now = selector.polls, clock()
        _wind_up(loop, selector)
    return Outcome(decider, error, polls, now, tasks, handled)


def describe_tasks(loop: asyncio.AbstractEventLoop) -> str:
    """Every unfinished task, what it waits on, and where (its stack)."""
    out = io.StringIO()
    for task in sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name()):
        out.write(f"  {task!r}\n")
        for frame in task.get_stack():
            code = frame.f_code
            out.write(
                f"      at {code.co_qualname} "
                f"({code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno})\n"
            )
    return out.getvalue() or "  (no unfinished asyncio task)\n"


def _wind_up(loop: aio.RefloopEventLoop, selector: ExploreSelector) -> None:
    """Cancel what is left, let it unwind under default decisions, close."""
    selector.cleanup = True
    # A task that swallows its cancellation must not keep the wind-up going.
    selector.max_polls = selector.polls + 200
    try:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # a task that refuses to end: the loop closes anyway
        pass
    finally:
        loop.close()
