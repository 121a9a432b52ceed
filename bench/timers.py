"""Timers: many tasks sleeping for random short delays.

``python -m bench.timers PEER '{"tasks": T, "sleeps": S, "low": s, "high": s,
"seed": n}'``. Each task sleeps S times, each for a delay drawn uniformly from
[low, high] by a seeded random.Random, so every peer sleeps the same delays.
Figures: CPU microseconds per sleep over the whole run, and lateness (wake
time minus the time asked for, by time.monotonic) at the median and the 99th
percentile. The floor is a heapq of (deadline, seq, callback) and a selector
to wait on, with no tasks at all.
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._child import Params, child_main, emit, need, need_refloop
from bench.floor import heap_sleepers, nap

Sleep = Callable[[float], Awaitable[Any]]


def _delays(p: Params, tasks: int) -> list[list[float]]:
    rng = random.Random(p["seed"])
    low, high = p["low"], p["high"]
    return [[rng.uniform(low, high) for _ in range(p["sleeps"])] for _ in range(tasks)]


def _report(late: list[float], cpu: float, wall: float) -> None:
    cuts = statistics.quantiles(late, n=100, method="inclusive")
    emit(
        {
            "metrics": {
                "us_cpu_per_sleep": cpu / len(late) * 1e6,
                "late_p50_us": statistics.median(late) * 1e6,
                "late_p99_us": cuts[98] * 1e6,
            },
            "extra": {"sleeps": len(late), "cpu_s": cpu, "wall_s": wall},
        }
    )


def _sleeper(sleep: Sleep, late: list[float]) -> Callable[[list[float]], Any]:
    clock = time.monotonic

    async def sleeper(delays: list[float]) -> None:
        for delay in delays:
            target = clock() + delay
            await sleep(delay)
            late.append(clock() - target)

    return sleeper


def floor(p: Params) -> None:
    clock = time.monotonic
    heap: list[tuple[float, int, Callable[[], None]]] = []
    seq = itertools.count()
    late: list[float] = []
    selector = selectors.DefaultSelector()

    def start(delays: list[float]) -> None:
        pending = iter(delays)
        target = 0.0

        def fire() -> None:
            nonlocal target
            now = clock()
            if target:
                late.append(now - target)
            delay = next(pending, None)
            if delay is not None:
                target = now + delay
                heapq.heappush(heap, (target, next(seq), fire))

        fire()

    def run(all_delays: list[list[float]]) -> None:
        for delays in all_delays:
            start(delays)
        while heap:
            now = clock()
            while heap and heap[0][0] <= now:
                heapq.heappop(heap)[2]()
            if heap:
                selector.select(max(heap[0][0] - clock(), 0))

    run(_delays(p, p["tasks"] // 10 or 1))
    late.clear()
    c0, w0 = time.process_time(), time.perf_counter()
    run(_delays(p, p["tasks"]))
    _report(late, time.process_time() - c0, time.perf_counter() - w0)


def floor_tasks(p: Params) -> None:
    """The floor with a coroutine per sleeper (bench.floor.heap_sleepers):
    what a task-based loop cannot avoid, beside the callback floor."""
    clock = time.monotonic
    late: list[float] = []

    async def sleeper(delays: list[float]) -> None:
        for delay in delays:
            target = clock() + delay
            await nap(target)
            late.append(clock() - target)

    heap_sleepers([sleeper(ds) for ds in _delays(p, p["tasks"] // 10 or 1)], clock)
    late.clear()
    c0, w0 = time.process_time(), time.perf_counter()
    heap_sleepers([sleeper(ds) for ds in _delays(p, p["tasks"])], clock)
    _report(late, time.process_time() - c0, time.perf_counter() - w0)


def _asyncio(p: Params, loop_factory: Any) -> None:
    import asyncio

    late: list[float] = []
    sleeper = _sleeper(asyncio.sleep, late)

    async def run(all_delays: list[list[float]]) -> None:
        for t in [asyncio.create_task(sleeper(ds)) for ds in all_delays]:
            await t

    async def main() -> None:
        await run(_delays(p, p["tasks"] // 10 or 1))
        late.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        await run(_delays(p, p["tasks"]))
        _report(late, time.process_time() - c0, time.perf_counter() - w0)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def asyncio_(p: Params) -> None:
    _asyncio(p, None)


def uvloop(p: Params) -> None:
    _asyncio(p, need("uvloop").new_event_loop)


def trio(p: Params) -> None:
    trio = need("trio")
    late: list[float] = []
    sleeper = _sleeper(trio.sleep, late)

    async def run(all_delays: list[list[float]]) -> None:
        async with trio.open_nursery() as nursery:
            for ds in all_delays:
                nursery.start_soon(sleeper, ds)

    async def main() -> None:
        await run(_delays(p, p["tasks"] // 10 or 1))
        late.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        await run(_delays(p, p["tasks"]))
        _report(late, time.process_time() - c0, time.perf_counter() - w0)

    trio.run(main)


def curio(p: Params) -> None:
    curio = need("curio")
    late: list[float] = []
    sleeper = _sleeper(curio.sleep, late)

    async def run(all_delays: list[list[float]]) -> None:
        for t in [await curio.spawn(sleeper, ds) for ds in all_delays]:
            await t.join()

    async def main() -> None:
        await run(_delays(p, p["tasks"] // 10 or 1))
        late.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        await run(_delays(p, p["tasks"]))
        _report(late, time.process_time() - c0, time.perf_counter() - w0)

    curio.run(main)


def refloop(p: Params) -> None:
    refloop = need_refloop("run", "spawn", "sleep")
    late: list[float] = []
    sleeper = _sleeper(refloop.sleep, late)

    async def run(all_delays: list[list[float]]) -> None:
        for t in [refloop.spawn(sleeper(ds)) for ds in all_delays]:
            await t.join()

    async def main() -> None:
        await run(_delays(p, p["tasks"] // 10 or 1))
        late.clear()
        c0, w0 = time.process_time(), time.perf_counter()
        await run(_delays(p, p["tasks"]))
        _report(late, time.process_time() - c0, time.perf_counter() - w0)

    refloop.run(main())


PEERS = {
    "floor": floor,
    "floor+tasks": floor_tasks,
    "refloop": refloop,
    "asyncio": asyncio_,
    "uvloop": uvloop,
    "trio": trio,
    "curio": curio,
}

if __name__ == "__main__":
    child_main(PEERS, sys.argv[1:])
