"""Loops under test for the asyncio-level stateful test: refloop.aio,
asyncio's default SelectorEventLoop and uvloop, each behind the same small
adapter (a loop factory and, where the loop's clock can be controlled, a
virtual clock).

Rules this module keeps:

1. Only public asyncio API is used on the loop, except the one documented
   override point for time: asyncio's `BaseEventLoop.time()` (every deadline
   computation of asyncio's loop goes through it), overridden in a subclass.
2. uvloop's timers run on libuv's clock, which no Python override reaches:
   its adapter has no clock (`clock is None`), and the machine then keeps to
   what does not depend on time (delay-0 timers fire at the next iteration,
   later ones never within a test).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from .._clock import VirtualClock

__all__ = [
    "ADAPTERS",
    "Adapter",
    "asyncio_adapter",
    "refloop_adapter",
    "uvloop_adapter",
]


class Adapter(NamedTuple):
    """How the machine makes a loop and moves its clock."""

    name: str
    # Returns a new loop and its virtual clock (None: the loop's own clock).
    make: Callable[[], tuple[asyncio.AbstractEventLoop, VirtualClock | None]]


def _refloop() -> tuple[asyncio.AbstractEventLoop, VirtualClock | None]:
    import refloop.aio

    clock = VirtualClock()
    return refloop.aio.new_event_loop(clock=clock), clock


def refloop_factory(
    cls: Callable[..., asyncio.AbstractEventLoop],
) -> Callable[[], tuple[asyncio.AbstractEventLoop, VirtualClock | None]]:
    """An adapter's `make` for a refloop.aio loop class (or a broken one)."""

    def make() -> tuple[asyncio.AbstractEventLoop, VirtualClock | None]:
        clock = VirtualClock()
        return cls(clock=clock), clock

    return make


class VirtualTimeSelectorLoop(asyncio.SelectorEventLoop):
    """asyncio's default loop, reading a virtual clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._virtual = clock
        super().__init__()

    def time(self) -> float:
        return self._virtual()


def _asyncio() -> tuple[asyncio.AbstractEventLoop, VirtualClock | None]:
    clock = VirtualClock()
    return VirtualTimeSelectorLoop(clock), clock


def _uvloop() -> tuple[asyncio.AbstractEventLoop, VirtualClock | None]:
    import uvloop

    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop, None


refloop_adapter = Adapter("refloop.aio", _refloop)
asyncio_adapter = Adapter("asyncio", _asyncio)
uvloop_adapter = Adapter("uvloop", _uvloop)
ADAPTERS = {a.name: a for a in (refloop_adapter, asyncio_adapter, uvloop_adapter)}
