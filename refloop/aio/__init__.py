"""refloop.aio: asyncio programs on refloop's scheduling core.

    import refloop.aio
    refloop.aio.run(main())                      # like asyncio.run
    asyncio.Runner(loop_factory=refloop.aio.new_event_loop)
    asyncio.run(main(), loop_factory=refloop.aio.new_event_loop)  # 3.12+

See spec/13-asyncio.md for what the loop guarantees.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

from .._clock import Clock
from ._loop import RefloopEventLoop as RefloopEventLoop

__all__ = ["EventLoopPolicy", "RefloopEventLoop", "new_event_loop", "run"]

T = TypeVar("T")


def new_event_loop(
    *, clock: Clock | None = None, selector: selectors.BaseSelector | None = None
) -> RefloopEventLoop:
    """A new asyncio event loop on refloop's core (spec: aio.entry); `clock`
    and `selector` replace the monotonic clock and the default selector (for
    tests and the explorer, refloop.explore)."""
    # spec: aio.entry
    return RefloopEventLoop(clock=clock, selector=selector)


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run `main` on a new refloop.aio loop, as asyncio.run does, and close
    the loop afterwards."""
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)


def __getattr__(name: str) -> Any:
    # The policy class is made on first use: asyncio deprecates policies in
    # 3.14, and touching asyncio.DefaultEventLoopPolicy there warns.
    if name == "EventLoopPolicy":
        base: Any = asyncio.DefaultEventLoopPolicy

        class EventLoopPolicy(base):  # type: ignore[misc]
            """asyncio's default policy, making refloop.aio loops (for code
            that still sets a policy, 3.11 to 3.13)."""

            _loop_factory = RefloopEventLoop

        globals()["EventLoopPolicy"] = EventLoopPolicy
        return EventLoopPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
