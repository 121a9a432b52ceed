"""Synchronisation: lock hand-off and channel throughput.

``python -m bench.sync PEER '{"kind": "lock", "tasks": N, "rounds": K,
"repeats": R}'`` or ``'{"kind": "channel", "capacity": C, "items": M,
"repeats": R}'``. The figure is CPU nanoseconds per operation, the best of R
repeats after a warm-up (as bench.switch): for the lock, per acquisition,
while N tasks each take it K times and yield once holding it, so every
release hands the lock to a waiter; for the channel, per item, one producer
sending M items to one consumer through a buffer of C. Peers use their own
primitive: refloop.Lock and refloop.Channel, asyncio.Lock and
asyncio.Queue(maxsize=C), trio.Lock and trio.open_memory_channel(C).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._child import Params, Skip, child_main, emit, need, need_refloop


def _report(p: Params, cpu: list[float]) -> None:
    ops = p["tasks"] * p["rounds"] if p["kind"] == "lock" else p["items"]
    emit(
        {
            "metrics": {"ns_per_op": min(cpu) / ops * 1e9},
            "extra": {"ops": ops, "cpu_s": cpu},
        }
    )


async def _repeat(p: Params, once: Callable[[int], Awaitable[None]]) -> None:
    await once(max(1, p.get("items", p.get("rounds", 10)) // 10))  # warm up
    cpu: list[float] = []
    for _ in range(p["repeats"]):
        start = time.process_time()
        await once(p["items"] if p["kind"] == "channel" else p["rounds"])
        cpu.append(time.process_time() - start)
    _report(p, cpu)


def refloop(p: Params) -> None:
    rl = need_refloop("Lock", "Channel", "TaskGroup")

    async def locks(rounds: int) -> None:
        lock = rl.Lock()

        async def user() -> None:
            for _ in range(rounds):
                async with lock:
                    await rl.yield_now()

        async with rl.TaskGroup() as g:
            for _ in range(p["tasks"]):
                g.spawn(user())

    async def channel(items: int) -> None:
        ch = rl.Channel(p["capacity"])

        async def produce() -> None:
            for i in range(items):
                await ch.send(i)
            ch.close()

        async def consume() -> None:
            async for _ in ch:
                pass

        async with rl.TaskGroup() as g:
            g.spawn(produce())
            g.spawn(consume())

    rl.run(_repeat(p, locks if p["kind"] == "lock" else channel))


def asyncio_(p: Params) -> None:
    import asyncio

    async def locks(rounds: int) -> None:
        lock = asyncio.Lock()

        async def user() -> None:
            for _ in range(rounds):
                async with lock:
                    await asyncio.sleep(0)

        async with asyncio.TaskGroup() as g:
            for _ in range(p["tasks"]):
                g.create_task(user())

    async def channel(items: int) -> None:
        if p["capacity"] < 1:
            raise Skip("asyncio.Queue has no rendezvous (maxsize=0 is unbounded)")
        q: asyncio.Queue[int | None] = asyncio.Queue(maxsize=p["capacity"])

        async def produce() -> None:
            for i in range(items):
                await q.put(i)
            await q.put(None)

        async def consume() -> None:
            while await q.get() is not None:
                pass

        async with asyncio.TaskGroup() as g:
            g.create_task(produce())
            g.create_task(consume())

    asyncio.run(_repeat(p, locks if p["kind"] == "lock" else channel))


def trio(p: Params) -> None:
    trio: Any = need("trio")

    async def locks(rounds: int) -> None:
        lock = trio.Lock()

        async def user() -> None:
            for _ in range(rounds):
                async with lock:
                    await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            for _ in range(p["tasks"]):
                nursery.start_soon(user)

    async def channel(items: int) -> None:
        send, receive = trio.open_memory_channel(p["capacity"])

        async def produce() -> None:
            async with send:
                for i in range(items):
                    await send.send(i)

        async def consume() -> None:
            async with receive:
                async for _ in receive:
                    pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            nursery.start_soon(consume)

    trio.run(_repeat, p, locks if p["kind"] == "lock" else channel)


PEERS = {"refloop": refloop, "asyncio": asyncio_, "trio": trio}

if __name__ == "__main__":
    child_main(PEERS, sys.argv[1:])
