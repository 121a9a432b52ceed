"""Idle scaling: what N idle connections cost the one busy task.

``python -m bench.idle PEER '{"idle": N, "yields": M, "rtts": R}'``. N
connections (far ends in bench.holder) each have a task, or for the floor a
callback, waiting to read. With them registered, the child measures:

- one loop iteration: a task yields M times, CPU nanoseconds per yield
  (every yield is one pass through the loop, including its poll);
- one active connection: two tasks ping-pong one byte R times over a
  loopback TCP connection, wall microseconds per round trip.

Each is the best of five equal chunks (see _CHUNKS).

A loop whose costs grow with registered-but-idle descriptors shows it as a
ratio between N = 10,000 and N = 10 above 1.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bench._child import Params, child_main, emit, need, need_refloop
from bench.floor import CallbackLoop
from bench.holder import Holder, tcp_pair

_MSG = b"x"


_CHUNKS = 5
"""Each figure is the best of this many equal chunks, as timeit reports the
best of its repeats: on a shared machine noise only ever adds time."""


class _Clock:
    """CPU and wall time for a stretch of the child's work."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def read(self) -> tuple[float, float]:
        return time.process_time() - self.cpu, time.perf_counter() - self.wall


Chunks = list[tuple[float, float]]


def _report(p: Params, iterations: Chunks, rtts: Chunks) -> None:
    per_yield = p["yields"] // _CHUNKS
    per_rtt = p["rtts"] // _CHUNKS
    emit(
        {
            "metrics": {
                "ns_per_iteration": min(c for c, _ in iterations) / per_yield * 1e9,
                "us_per_rtt": min(w for _, w in rtts) / per_rtt * 1e6,
            },
            "extra": {
                "rtt_cpu_us": min(c for c, _ in rtts) / per_rtt * 1e6,
                "idle": p["idle"],
                "chunks": {"iterations": iterations, "rtts": rtts},
            },
        }
    )


async def _measure(
    p: Params,
    yield_: Callable[[], Awaitable[Any]],
    ping: Callable[[], Awaitable[Any]],
) -> None:
    """Time M yields, then R pings, in chunks, from inside a peer's task."""
    for _ in range(100):
        await yield_()
    iterations: Chunks = []
    for _ in range(_CHUNKS):
        clock = _Clock()
        for _ in range(p["yields"] // _CHUNKS):
            await yield_()
        iterations.append(clock.read())
    for _ in range(10):
        await ping()
    rtts: Chunks = []
    for _ in range(_CHUNKS):
        clock = _Clock()
        for _ in range(p["rtts"] // _CHUNKS):
            await ping()
        rtts.append(clock.read())
    _report(p, iterations, rtts)


def _never() -> None:
    raise AssertionError("an idle connection became readable")


def floor(p: Params) -> None:
    loop = CallbackLoop()
    with Holder() as holder:
        for sock in holder.connect(p["idle"]):
            loop.selector.register(sock, selectors.EVENT_READ, _never)
        near, far = tcp_pair()
        # The same plan as _measure, as callbacks: warm up, then chunks.
        plan = deque(
            [("warm", 100)]
            + [("yield", p["yields"] // _CHUNKS)] * _CHUNKS
            + [("warm-rtt", 10)]
            + [("rtt", p["rtts"] // _CHUNKS)] * _CHUNKS
        )
        done: dict[str, Chunks] = {"warm": [], "yield": [], "warm-rtt": [], "rtt": []}
        kind, left, clock = "", 0, _Clock()

        def next_phase() -> None:
            nonlocal kind, left, clock
            if kind:
                done[kind].append(clock.read())
            if not plan:
                loop.running = False
                return
            kind, left = plan.popleft()
            clock = _Clock()
            if "rtt" in kind:
                near.send(_MSG)
            else:
                loop.ready.append(tick)

        def tick() -> None:
            nonlocal left
            left -= 1
            if left > 0:
                loop.ready.append(tick)
            else:
                next_phase()

        def on_near() -> None:
            nonlocal left
            near.recv(64)
            left -= 1
            if left > 0:
                near.send(_MSG)
            else:
                next_phase()

        def on_far() -> None:
            far.send(far.recv(64))

        loop.selector.register(near, selectors.EVENT_READ, on_near)
        loop.selector.register(far, selectors.EVENT_READ, on_far)
        next_phase()
        loop.run()
        _report(p, done["yield"], done["rtt"])


def _asyncio(p: Params, loop_factory: Any) -> None:
    import asyncio

    async def idle(sock: socket.socket, parked: list[int]) -> None:
        reader, _ = await asyncio.open_connection(sock=sock)
        parked[0] += 1
        await reader.read(1)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(64):
            writer.write(data)
            await writer.drain()

    async def main(holder: Holder) -> None:
        parked = [0]
        idlers = [
            asyncio.create_task(idle(s, parked)) for s in holder.connect(p["idle"])
        ]
        while parked[0] < len(idlers):
            await asyncio.sleep(0)
        near, far = tcp_pair()
        reader, writer = await asyncio.open_connection(sock=near)
        echoer = asyncio.create_task(echo(*await asyncio.open_connection(sock=far)))

        async def ping() -> None:
            writer.write(_MSG)
            await writer.drain()
            await reader.read(64)

        await _measure(p, lambda: asyncio.sleep(0), ping)
        del echoer

    with Holder() as holder, asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main(holder))


def asyncio_(p: Params) -> None:
    _asyncio(p, None)


def uvloop(p: Params) -> None:
    _asyncio(p, need("uvloop").new_event_loop)


def trio(p: Params) -> None:
    trio = need("trio")

    def stream(sock: socket.socket) -> Any:
        return trio.SocketStream(trio.socket.from_stdlib_socket(sock))

    async def idle(sock: socket.socket, parked: list[int]) -> None:
        s = stream(sock)
        parked[0] += 1
        await s.receive_some(1)

    async def echo(s: Any) -> None:
        while data := await s.receive_some(64):
            await s.send_all(data)

    async def main(holder: Holder) -> None:
        parked = [0]
        async with trio.open_nursery() as nursery:
            for sock in holder.connect(p["idle"]):
                nursery.start_soon(idle, sock, parked)
            while parked[0] < p["idle"]:
                await trio.lowlevel.checkpoint()
            near_sock, far_sock = tcp_pair()
            near = stream(near_sock)
            nursery.start_soon(echo, stream(far_sock))

            async def ping() -> None:
                await near.send_all(_MSG)
                await near.receive_some(64)

            await _measure(p, trio.lowlevel.checkpoint, ping)

    with Holder() as holder:
        trio.run(main, holder)


def curio(p: Params) -> None:
    curio = need("curio")
    cio = need("curio.io")

    async def idle(sock: Any, parked: list[int]) -> None:
        parked[0] += 1
        await sock.recv(1)

    async def echo(s: Any) -> None:
        while data := await s.recv(64):
            await s.sendall(data)

    async def main(holder: Holder) -> None:
        parked = [0]
        for sock in holder.connect(p["idle"]):
            await curio.spawn(idle, cio.Socket(sock), parked, daemon=True)
        while parked[0] < p["idle"]:
            await curio.sleep(0)
        near_sock, far_sock = tcp_pair()
        near = cio.Socket(near_sock)
        await curio.spawn(echo, cio.Socket(far_sock), daemon=True)

        async def ping() -> None:
            await near.sendall(_MSG)
            await near.recv(64)

        await _measure(p, lambda: curio.sleep(0), ping)

    with Holder() as holder:
        curio.run(main, holder)


def refloop(p: Params) -> None:
    refloop = need_refloop("run", "spawn", "yield_now", "recv", "sendall")

    async def idle(sock: socket.socket, parked: list[int]) -> None:
        parked[0] += 1
        await refloop.recv(sock, 1)

    async def echo(sock: socket.socket) -> None:
        while data := await refloop.recv(sock, 64):
            await refloop.sendall(sock, data)

    async def main(holder: Holder) -> None:
        parked = [0]
        for sock in holder.connect(p["idle"]):
            refloop.spawn(idle(sock, parked))
        while parked[0] < p["idle"]:
            await refloop.yield_now()
        near, far = tcp_pair()
        refloop.spawn(echo(far))

        async def ping() -> None:
            await refloop.sendall(near, _MSG)
            await refloop.recv(near, 64)

        await _measure(p, refloop.yield_now, ping)

    with Holder() as holder:
        refloop.run(main(holder))


PEERS = {
    "floor": floor,
    "refloop": refloop,
    "asyncio": asyncio_,
    "uvloop": uvloop,
    "trio": trio,
    "curio": curio,
}

if __name__ == "__main__":
    child_main(PEERS, sys.argv[1:])
