"""The pure-Python floors: the least a coroutine or callback loop can do.

A peer's figure divided by the floor's says how much of its cost is the
loop's own machinery and how much is unavoidable in CPython. The floors here
serve the in-process benchmarks; the echo floor is bench.servers.floor.
"""

from __future__ import annotations

import selectors
import types
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any

Callback = Callable[[], None]


@types.coroutine
def pause() -> Generator[None, None, None]:
    """Suspend the calling coroutine once; the scheduler resumes it with send."""
    yield


def round_robin(coros: list[Coroutine[Any, Any, None]]) -> None:
    """Run coroutines that only ever `await pause()`, in turn, to completion."""
    ready = deque(coros)
    popleft, append = ready.popleft, ready.append
    while ready:
        coro = popleft()
        try:
            coro.send(None)
        except StopIteration:
            continue
        append(coro)


def round_robin_polled(coros: list[Coroutine[Any, Any, None]]) -> None:
    """`round_robin`, plus one selector poll per pass over the run queue: the
    least a loop that also watches sockets must do between passes."""
    ready = deque(coros)
    popleft, append = ready.popleft, ready.append
    select = selectors.DefaultSelector().select
    while ready:
        select(0)
        for _ in range(len(ready)):
            coro = popleft()
            try:
                coro.send(None)
            except StopIteration:
                continue
            append(coro)


class CallbackLoop:
    """A ready deque and a selector: the floor for loop iterations and I/O.

    Each iteration polls the selector once (without blocking when callbacks
    are ready) and then runs the callbacks that were ready when it began.
    """

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.ready: deque[Callback] = deque()
        self.running = True

    def run(self) -> None:
        select, ready = self.selector.select, self.ready
        popleft = ready.popleft
        while self.running:
            for key, _ in select(0 if ready else None):
                key.data()
            for _ in range(len(ready)):
                popleft()()
