"""The same asyncio code on asyncio's default loop, refloop.aio and uvloop.

    python -m bench.aio                  # every case, 3 rounds, ~1 minute
    python -m bench.aio --rounds 1 --only chain,sleep

Each figure is CPU time per operation (process time, best of 5 chunks in a
fresh interpreter per loop and case), so a shared machine's noise only adds
time. Cases:

- chain: a callback that call_soon()s itself, 200,000 times;
- switch: 1,000 tasks each awaiting asyncio.sleep(0) 100 times;
- sleep: 10,000 tasks each sleeping a random 0-10 ms, 5 times;
- echo: one client protocol and one server protocol over loopback TCP, on
  the same loop, 100-byte ping-pong, 20,000 round trips;
- echo64: the same with 64 KiB messages, 3,000 round trips;
- streams: asyncio streams (open_connection, start_server) over loopback,
  100-byte ping-pong, 10,000 round trips.

Rounds interleave the loops (A B C, then B C A, ...); a ratio is taken
between two figures of the same round and case, then summarised: the table
shows the median figure and the median [min-max] of the ratios.

The echo servers beside the other peers' (python -m bench --only echo) are
bench.servers.refloop_aio_protocols and refloop_aio_streams.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

LOOPS = ("asyncio", "refloop.aio", "uvloop")


def _factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "asyncio":
        return asyncio.new_event_loop
    if name == "uvloop":
        return importlib.import_module("uvloop").new_event_loop  # type: ignore[no-any-return]
    return importlib.import_module("refloop.aio").new_event_loop  # type: ignore[no-any-return]


async def chain(n: int = 200_000) -> int:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = n

    def step() -> None:
        nonlocal left
        left -= 1
        if left:
            loop.call_soon(step)
        else:
            done.set_result(None)

    loop.call_soon(step)
    await done
    return n


async def switch(tasks: int = 1000, rounds: int = 100) -> int:
    async def one() -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)

    await asyncio.gather(*(one() for _ in range(tasks)))
    return tasks * rounds


async def sleep(tasks: int = 10_000, rounds: int = 5) -> int:
    rng = random.Random(1)

    async def one() -> None:
        for _ in range(rounds):
            await asyncio.sleep(rng.random() / 100)

    await asyncio.gather(*(one() for _ in range(tasks)))
    return tasks * rounds


async def echo(trips: int = 20_000, size: int = 100) -> int:
    loop = asyncio.get_running_loop()
    payload = b"x" * size

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.left = trips
            self.got = 0
            self.done = loop.create_future()

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transport.write(payload)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= size:
                self.got -= size
                self.left -= 1
                if self.left:
                    self.transport.write(payload)
                else:
                    self.done.set_result(None)

    server = await loop.create_server(Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, client = await loop.create_connection(Client, "127.0.0.1", port)
    await client.done
    transport.close()
    server.close()
    await server.wait_closed()
    return trips


async def echo64() -> int:
    return await echo(trips=3000, size=65536)


async def streams(trips: int = 10_000, size: int = 100) -> int:
    payload = b"x" * size

    async def serve(reader: asyncio.StreamReader, writer: Any) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(trips):
        writer.write(payload)
        await writer.drain()
        await reader.readexactly(size)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return trips


CASES: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
    "chain": chain,
    "switch": switch,
    "sleep": sleep,
    "echo": echo,
    "echo64": echo64,
    "streams": streams,
}


def _child(loop_name: str, case: str, chunks: int) -> None:
    factory = _factory(loop_name)
    best = float("inf")
    for _ in range(chunks):
        with asyncio.Runner(loop_factory=factory) as runner:
            started = time.process_time()
            ops = runner.run(CASES[case]())
            took = time.process_time() - started
        best = min(best, took / ops)
    print(json.dumps({"loop": loop_name, "case": case, "us_per_op": best * 1e6}))


def measure(loop_name: str, case: str, chunks: int = 5) -> float | None:
    cmd = [sys.executable, "-m", "bench.aio", "--child", loop_name, case, str(chunks)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            return float(json.loads(line)["us_per_op"])
    sys.stderr.write(f"{loop_name} {case} failed: {done.stderr[-500:]}\n")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aio")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    cases = args.only.split(",")
    # figures[(case, loop)][round]: None where the loop failed that round.
    figures: dict[tuple[str, str], list[float | None]] = {}
    for r in range(args.rounds):
        order = LOOPS[r % 3 :] + LOOPS[: r % 3]  # interleave the loops
        for case in cases:
            for loop_name in order:
                value = measure(loop_name, case)
                figures.setdefault((case, loop_name), []).append(value)
    print(f"{args.rounds} rounds; median figure, median [min-max] of the ratios")
    print()
    print(
        "| case | asyncio µs/op | refloop.aio µs/op | uvloop µs/op "
        "| aio/asyncio | aio/uvloop |"
    )
    print("|---|---|---|---|---|---|")
    for case in cases:
        row = {n: figures.get((case, n), []) for n in LOOPS}
        med = {n: _median([v for v in row[n] if v is not None]) for n in LOOPS}
        ratio_a = _ratios(row["refloop.aio"], row["asyncio"])
        ratio_u = _ratios(row["refloop.aio"], row["uvloop"])
        cells = " | ".join(_fmt(med[n]) for n in LOOPS)
        print(f"| {case} | {cells} | {ratio_a} | {ratio_u} |")
    return 0


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratios(mine: list[float | None], theirs: list[float | None]) -> str:
    """The ratios of the same rounds' figures: median [min-max]."""
    each = [a / b for a, b in zip(mine, theirs, strict=True) if a and b]
    if not each:
        return "-"
    low, high = min(each), max(each)
    return f"{_median(each):.2f} [{low:.2f}-{high:.2f}]"


if __name__ == "__main__":
    sys.exit(main())
