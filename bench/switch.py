"""Task switches: N tasks each yielding K times, round-robin.

``python -m bench.switch PEER '{"tasks": N, "yields": K, "repeats": R}'``.
The figure is CPU nanoseconds per switch, from spawning the first task to
joining the last, the best of R repeats after a warm-up; CPU rather than
wall time, so that a busy machine does not count against the peer. The floor drives bare
coroutines from a deque (bench.floor.round_robin); each peer yields with its
own idiom: asyncio.sleep(0), trio.lowlevel.checkpoint(), curio.sleep(0),
refloop.yield_now().
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._child import Params, child_main, emit, need, need_refloop
from bench.floor import pause, round_robin, round_robin_polled

Yield = Callable[[], Awaitable[Any]]


class _Samples:
    """CPU seconds of each repeat; the figure is the best of them per switch,
    as timeit reports: on a shared machine noise only ever adds time."""

    def __init__(self, p: Params) -> None:
        self.switches = p["tasks"] * p["yields"]
        self.cpu: list[float] = []
        self.start = 0.0

    def __enter__(self) -> None:
        self.start = time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.cpu.append(time.process_time() - self.start)

    def report(self) -> None:
        per = min(self.cpu) / self.switches * 1e9
        emit(
            {
                "metrics": {"ns_per_switch": per},
                "extra": {"switches": self.switches, "cpu_s": self.cpu},
            }
        )


def _worker(yield_: Yield, yields: int) -> Callable[[], Any]:
    async def work() -> None:
        for _ in range(yields):
            await yield_()

    return work


def _floor(p: Params, scheduler: Callable[[list[Any]], None]) -> None:
    tasks, yields = p["tasks"], p["yields"]
    work = _worker(pause, yields)
    scheduler([work() for _ in range(tasks // 10 or 1)])  # warm up
    samples = _Samples(p)
    for _ in range(p["repeats"]):
        with samples:
            scheduler([work() for _ in range(tasks)])
    samples.report()


def floor(p: Params) -> None:
    _floor(p, round_robin)


def floor_poll(p: Params) -> None:
    _floor(p, round_robin_polled)


def _asyncio(p: Params, loop_factory: Any) -> None:
    import asyncio

    tasks, yields = p["tasks"], p["yields"]
    work = _worker(lambda: asyncio.sleep(0), yields)

    async def main() -> None:
        async def spawn_all(count: int) -> None:
            for t in [asyncio.create_task(work()) for _ in range(count)]:
                await t

        await spawn_all(tasks // 10 or 1)
        samples = _Samples(p)
        for _ in range(p["repeats"]):
            with samples:
                await spawn_all(tasks)
        samples.report()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def asyncio_(p: Params) -> None:
    _asyncio(p, None)


def uvloop(p: Params) -> None:
    _asyncio(p, need("uvloop").new_event_loop)


def trio(p: Params) -> None:
    trio = need("trio")
    tasks, yields = p["tasks"], p["yields"]
    work = _worker(trio.lowlevel.checkpoint, yields)

    async def spawn_all(count: int) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(work)

    async def main() -> None:
        await spawn_all(tasks // 10 or 1)
        samples = _Samples(p)
        for _ in range(p["repeats"]):
            with samples:
                await spawn_all(tasks)
        samples.report()

    trio.run(main)


def curio(p: Params) -> None:
    curio = need("curio")
    tasks, yields = p["tasks"], p["yields"]
    work = _worker(lambda: curio.sleep(0), yields)

    async def spawn_all(count: int) -> None:
        for t in [await curio.spawn(work) for _ in range(count)]:
            await t.join()

    async def main() -> None:
        await spawn_all(tasks // 10 or 1)
        samples = _Samples(p)
        for _ in range(p["repeats"]):
            with samples:
                await spawn_all(tasks)
        samples.report()

    curio.run(main)


def refloop(p: Params) -> None:
    refloop = need_refloop("run", "spawn", "yield_now")
    tasks, yields = p["tasks"], p["yields"]
    work = _worker(refloop.yield_now, yields)

    async def spawn_all(count: int) -> None:
        for t in [refloop.spawn(work()) for _ in range(count)]:
            await t.join()

    async def main() -> None:
        await spawn_all(tasks // 10 or 1)
        samples = _Samples(p)
        for _ in range(p["repeats"]):
            with samples:
                await spawn_all(tasks)
        samples.report()

    refloop.run(main())


PEERS = {
    "floor": floor,
    "floor+poll": floor_poll,
    "refloop": refloop,
    "asyncio": asyncio_,
    "uvloop": uvloop,
    "trio": trio,
    "curio": curio,
}

if __name__ == "__main__":
    child_main(PEERS, sys.argv[1:])
