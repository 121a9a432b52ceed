"""Where an echo request's CPU goes: the figures behind the missed targets.

    python -m bench.anatomy              # about 40 s
    python -m bench.anatomy --rounds 5

Three measurements, each printed as a Markdown table (a benchmark, not a
test: it asserts nothing):

1. Unit costs on this machine, in-process, best of several chunks: a
   `recv` that finds nothing (the system call plus the BlockingIOError it
   raises), a `send` plus a `recv` that finds the bytes, a zero-timeout poll
   through `selectors`. refloop's operations try the call first
   (op.try-first), so a task that reads after replying pays the first one
   whenever the reply has not come yet; the floor reads only when the poll
   says so.
2. One connection's round trip over a socketpair in one process, client and
   echo task on the same loop: refloop against the floor's callbacks. No
   scheduler, no second process: the CPU difference is the loops' own.
3. The echo benchmark's 100 B x 10 connections case, pinned as `python -m
   bench` pins it: per request, the server's user and system CPU
   (/proc/PID/stat, so 10 ms ticks over a long window) and its voluntary and
   involuntary context switches (/proc/PID/status). Involuntary switches
   are the client preempting the server when a reply wakes it.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from bench.runner import ROOT, child_env, pin
from bench.servers import SERVERS


def _best(fn: Callable[[], object], number: int = 20_000, chunks: int = 7) -> float:
    """Nanoseconds per call, best chunk (noise only ever adds time)."""
    best = float("inf")
    for _ in range(chunks):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, time.process_time() - start)
    return best / number * 1e9


def unit_costs() -> dict[str, float]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    msg = b"x" * 100

    def empty_recv() -> None:
        # As refloop's operations do it: suppress() would add its own cost.
        try:  # noqa: SIM105
            b.recv(65536)
        except BlockingIOError:
            pass

    def send_recv() -> None:
        a.send(msg)
        b.recv(65536)

    sel = selectors.DefaultSelector()
    sel.register(b, selectors.EVENT_READ)
    try:
        return {
            "recv that finds nothing (EAGAIN, caught)": _best(empty_recv),
            "send + recv of 100 B": _best(send_recv),
            "selectors poll, zero timeout": _best(lambda: sel.select(0)),
        }
    finally:
        sel.close()
        a.close()
        b.close()


def _floor_round_trips(n: int) -> float:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    sel = selectors.DefaultSelector()
    left = [n]

    def on_b() -> None:
        b.send(b.recv(65536))

    def on_a() -> None:
        data = a.recv(65536)
        left[0] -= 1
        if left[0]:
            a.send(data)

    sel.register(a, selectors.EVENT_READ, on_a)
    sel.register(b, selectors.EVENT_READ, on_b)
    start = time.process_time()
    a.send(b"x" * 100)
    while left[0]:
        for key, _ in sel.select():
            key.data()
    cpu = time.process_time() - start
    sel.close()
    a.close()
    b.close()
    return cpu / n * 1e6


def _refloop_round_trips(n: int) -> float:
    import refloop

    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def echo() -> None:
        while data := await refloop.recv(b, 65536):
            await refloop.sendall(b, data)

    async def main() -> float:
        echoer = refloop.spawn(echo())
        start = time.process_time()
        for _ in range(n):
            await refloop.sendall(a, b"x" * 100)
            await refloop.recv(a, 65536)
        cpu = time.process_time() - start
        refloop.close(a)
        await echoer.join()
        refloop.close(b)
        return cpu / n * 1e6

    return refloop.run(main())


def round_trips(rounds: int, n: int = 20_000) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"floor": [], "refloop": []}
    for _ in range(rounds):
        out["floor"].append(_floor_round_trips(n))
        out["refloop"].append(_refloop_round_trips(n))
    return out


def _proc(pid: int) -> tuple[int, int, int, int]:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        status = f.read()
    vol = int(status.split("\nvoluntary_ctxt_switches:")[1].split()[0])
    invol = int(status.split("nonvoluntary_ctxt_switches:")[1].split()[0])
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]), int(fields[12]), vol, invol


def echo_anatomy(peer: str, seconds: float) -> dict[str, float]:
    """One pinned server and the benchmark's client, 100 B x 10 connections."""
    env = child_env()
    server = subprocess.Popen(
        [sys.executable, "-m", SERVERS[peer], "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=pin(),
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        if not ready or ready[0] != "READY":
            return {}
        port, pid = ready[1], int(ready[2])
        client = [sys.executable, "-m", "bench.client", port, "100", "10"]
        before = _proc(pid)
        done = subprocess.run(
            [*client, "0", str(seconds), str(pid)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=pin(),
            check=True,
        )
        after = _proc(pid)
    finally:
        server.terminate()
        server.wait()
    requests = json.loads(done.stdout.strip().splitlines()[-1])["requests"]
    tick = os.sysconf("SC_CLK_TCK")
    user, system, vol, invol = (y - x for x, y in zip(before, after, strict=True))
    return {
        "us user/req": user / tick / requests * 1e6,
        "us system/req": system / tick / requests * 1e6,
        "voluntary switches/req": vol / requests,
        "involuntary switches/req": invol / requests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--peers", default="floor,refloop,uvloop-streams,asyncio-streams"
    )
    args = parser.parse_args(argv)
    print("## Unit costs (ns, best of 7 chunks)\n\n| operation | ns |\n|---|---:|")
    for what, ns in unit_costs().items():
        print(f"| {what} | {ns:,.0f} |")
    trips = round_trips(args.rounds)
    print("\n## Round trip over a socketpair, one process (CPU us, per round)\n")
    print("| loop | rounds | refloop / floor |\n|---|---|---:|")
    pairs = zip(trips["refloop"], trips["floor"], strict=True)
    ratios = sorted(r / f for r, f in pairs)
    for name, values in trips.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        ratio = f"{ratios[len(ratios) // 2]:.2f}" if name == "refloop" else ""
        print(f"| {name} | {shown} | {ratio} |")
    print("\n## Echo 100 B x 10 connections, pinned (per request, median of rounds)\n")
    peers = args.peers.split(",")
    figures: dict[str, list[dict[str, float]]] = {p: [] for p in peers}
    for _ in range(args.rounds):
        for peer in peers:
            got = echo_anatomy(peer, args.seconds)
            if got:
                figures[peer].append(got)
    columns = [
        "us user/req",
        "us system/req",
        "voluntary switches/req",
        "involuntary switches/req",
    ]
    print("| server | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for peer, runs in figures.items():
        if not runs:
            print(f"| {peer} | skipped |" + " |" * (len(columns) - 1))
            continue
        cells = []
        for column in columns:
            values = sorted(run[column] for run in runs)
            cells.append(f"{values[len(values) // 2]:.2f}")
        print(f"| {peer} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
