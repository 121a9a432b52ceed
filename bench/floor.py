"""The pure-Python floors: the least a coroutine or callback loop can do.

A peer's figure divided by the floor's says how much of its cost is the
loop's own machinery and how much is unavoidable in CPython. The floors here
serve the in-process benchmarks; the echo floor is bench.servers.floor.
"""

from __future__ import annotations

import heapq
import selectors
import types
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any

Callback = Callable[[], None]
Clock = Callable[[], float]


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


@types.coroutine
def nap(deadline: float) -> Generator[float, None, None]:
    """Suspend the calling coroutine until `deadline` by `heap_sleepers`."""
    yield deadline


def heap_sleepers(coros: list[Coroutine[Any, float, None]], clock: Clock) -> None:
    """Run coroutines that only ever `await nap(deadline)`: a heapq of
    (deadline, seq, coroutine) and a selector poll until the nearest one,
    the least a loop of tasks that sleep can do."""
    heap: list[tuple[float, int, Coroutine[Any, float, None]]] = []
    select = selectors.DefaultSelector().select
    seq = 0
    due = list(coros)
    while True:
        for coro in due:
            try:
                deadline = coro.send(None)
            except StopIteration:
                continue
            heapq.heappush(heap, (deadline, seq, coro))
            seq += 1
        if not heap:
            return
        delay = heap[0][0] - clock()
        if delay > 0:
            select(delay)
        now = clock()
        due = []
        while heap and heap[0][0] <= now:
            due.append(heapq.heappop(heap)[2])


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
