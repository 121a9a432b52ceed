"""Memory: bytes per idle task and per idle connection.

``python -m bench.memory PEER '{"what": "task"|"connection", "count": N,
"method": "tracemalloc"|"rss"}'``. The child counts memory, parks N idle tasks
(each waiting on the peer's event primitive) or N idle connections (each with
a reader waiting; the sockets exist before the first count, so only what the
loop adds per connection is charged), counts again, and reports the
difference per item. tracemalloc counts Python allocations exactly but slows
the run and misses memory that C code takes from malloc directly; RSS counts
everything in whole pages, so N is large.

Floors: a bare coroutine suspended on a minimal awaitable (task), and a
selector registration with a callback (connection).
"""

from __future__ import annotations

import gc
import os
import selectors
import socket
import sys
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bench._child import Params, Skip, child_main, emit, need, need_refloop
from bench.floor import CallbackLoop, pause
from bench.holder import Holder

_PAGE = os.sysconf("SC_PAGE_SIZE")


class _Meter:
    """Counts memory one way; `take()` gives bytes in use now."""

    def __init__(self, method: str) -> None:
        self.method = method
        if method == "tracemalloc":
            tracemalloc.start()

    def take(self) -> int:
        gc.collect()
        if self.method == "tracemalloc":
            return tracemalloc.get_traced_memory()[0]
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE


def _report(p: Params, before: int, after: int) -> None:
    emit(
        {
            "metrics": {"bytes_per_item": (after - before) / p["count"]},
            "extra": {"before": before, "after": after, "count": p["count"]},
        }
    )


Idle = Callable[[int, list[int]], Coroutine[Any, Any, None]]
"""An idle task body: given its index and the parked counter, it bumps the
counter just before it blocks for good."""


async def _park(
    p: Params,
    meter: _Meter,
    spawn: Callable[[Idle, int, list[int]], Awaitable[Any]],
    idle: Idle,
    yield_: Callable[[], Awaitable[Any]],
) -> None:
    """Spawn `count` idle tasks, wait until all have parked, report growth."""
    parked = [0]
    before = meter.take()
    for i in range(p["count"]):
        await spawn(idle, i, parked)
    while parked[0] < p["count"]:
        await yield_()
    for _ in range(3):
        await yield_()
    _report(p, before, meter.take())


def floor(p: Params) -> None:
    meter = _Meter(p["method"])
    if p["what"] == "task":
        parked: list[Any] = []
        before = meter.take()
        for _ in range(p["count"]):
            coro = _floor_idle()
            coro.send(None)
            parked.append(coro)
        _report(p, before, meter.take())
    with Holder() as holder:
        socks = holder.connect(p["count"])
        loop = CallbackLoop()
        before = meter.take()
        for sock in socks:
            loop.selector.register(sock, selectors.EVENT_READ, _Reader(sock).on_read)
        _report(p, before, meter.take())


async def _floor_idle() -> None:
    await pause()


class _Reader:
    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def on_read(self) -> None:
        self.sock.recv(1)


def refloop(p: Params) -> None:
    refloop = need_refloop("run", "spawn", "yield_now", "recv")
    meter = _Meter(p["method"])

    async def spawn(idle: Idle, i: int, parked: list[int]) -> None:
        refloop.spawn(idle(i, parked))

    async def main(socks: list[socket.socket]) -> None:
        if p["what"] == "task":
            gate = refloop.spawn(refloop.recv(socks[0], 1))

            async def idle(i: int, parked: list[int]) -> None:
                parked[0] += 1
                await gate.join()

        else:

            async def idle(i: int, parked: list[int]) -> None:
                parked[0] += 1
                await refloop.recv(socks[i], 1)

        await _park(p, meter, spawn, idle, refloop.yield_now)

    with Holder() as holder:
        refloop.run(main(holder.connect(1 if p["what"] == "task" else p["count"])))


def _asyncio(p: Params, loop_factory: Any, protocols: bool) -> None:
    import asyncio

    if protocols and p["what"] == "task":
        raise Skip("protocols have no tasks")
    meter = _Meter(p["method"])

    async def spawn(idle: Idle, i: int, parked: list[int]) -> None:
        # The event's waiter future holds the task; a list of them would
        # charge asyncio 8 bytes more per task than the other peers.
        asyncio.create_task(idle(i, parked))  # noqa: RUF006

    async def main(socks: list[socket.socket]) -> None:
        event = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def idle_task(i: int, parked: list[int]) -> None:
            parked[0] += 1
            await event.wait()

        async def idle_stream(i: int, parked: list[int]) -> None:
            reader, _ = await asyncio.open_connection(sock=socks[i])
            parked[0] += 1
            await reader.read(1)

        async def connect(idle: Idle, i: int, parked: list[int]) -> None:
            await loop.connect_accepted_socket(asyncio.Protocol, socks[i])
            parked[0] += 1

        if protocols:
            await _park(p, meter, connect, idle_task, lambda: asyncio.sleep(0))
        elif p["what"] == "task":
            await _park(p, meter, spawn, idle_task, lambda: asyncio.sleep(0))
        else:
            await _park(p, meter, spawn, idle_stream, lambda: asyncio.sleep(0))

    with Holder() as holder, asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main(holder.connect(0 if p["what"] == "task" else p["count"])))


def asyncio_(p: Params) -> None:
    _asyncio(p, None, protocols=False)


def asyncio_protocols(p: Params) -> None:
    _asyncio(p, None, protocols=True)


def uvloop(p: Params) -> None:
    _asyncio(p, need("uvloop").new_event_loop, protocols=False)


def uvloop_protocols(p: Params) -> None:
    _asyncio(p, need("uvloop").new_event_loop, protocols=True)


def trio(p: Params) -> None:
    trio = need("trio")
    meter = _Meter(p["method"])

    async def main(socks: list[socket.socket]) -> None:
        event = trio.Event()

        async def idle_task(i: int, parked: list[int]) -> None:
            parked[0] += 1
            await event.wait()

        async def idle_stream(i: int, parked: list[int]) -> None:
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(socks[i]))
            parked[0] += 1
            await stream.receive_some(1)

        async with trio.open_nursery() as nursery:

            async def spawn(idle: Idle, i: int, parked: list[int]) -> None:
                nursery.start_soon(idle, i, parked)

            idle = idle_task if p["what"] == "task" else idle_stream
            await _park(p, meter, spawn, idle, trio.lowlevel.checkpoint)

    with Holder() as holder:
        trio.run(main, holder.connect(0 if p["what"] == "task" else p["count"]))


def curio(p: Params) -> None:
    curio = need("curio")
    cio = need("curio.io")

    meter = _Meter(p["method"])

    async def spawn(idle: Idle, i: int, parked: list[int]) -> None:
        await curio.spawn(idle, i, parked, daemon=True)

    async def main(socks: list[socket.socket]) -> None:
        event = curio.Event()

        async def idle_task(i: int, parked: list[int]) -> None:
            parked[0] += 1
            await event.wait()

        async def idle_socket(i: int, parked: list[int]) -> None:
            sock = cio.Socket(socks[i])
            parked[0] += 1
            await sock.recv(1)

        idle = idle_task if p["what"] == "task" else idle_socket
        await _park(p, meter, spawn, idle, lambda: curio.sleep(0))

    with Holder() as holder:
        curio.run(main, holder.connect(0 if p["what"] == "task" else p["count"]))


PEERS = {
    "floor": floor,
    "refloop": refloop,
    "asyncio": asyncio_,
    "asyncio-protocols": asyncio_protocols,
    "uvloop": uvloop,
    "uvloop-protocols": uvloop_protocols,
    "trio": trio,
    "curio": curio,
}

if __name__ == "__main__":
    child_main(PEERS, sys.argv[1:])
