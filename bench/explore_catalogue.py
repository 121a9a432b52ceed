"""The explorer on the race catalogue (tests/races): runs to the first
failure per strategy, the shrunk schedule's length, plain runs on a plain
loop (asyncio's default one; `refloop.run` for the native races), delay
bounding over loopback sockets instead of the simulated network, and runs
per second on the fixed programs.

    python bench/explore_catalogue.py [--plain N] [--runs N] [--validate]

--validate checks every run's trace against the model (spec:
explore.validate); compare the runs per second with and without it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from races import NAMES, NATIVE

import refloop
from refloop.explore import explore

STRATEGIES = ["delay", "random", "pct", "hypothesis"]


def plain(fn: object, count: int, native: bool) -> int:
    found = 0
    for _ in range(count):
        try:
            if native:
                refloop.run(fn())  # type: ignore[operator]
            else:
                asyncio.run(fn())  # type: ignore[operator]
        except BaseException:
            found += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain", type=int, default=20)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    print(
        f"| bug | plain loop ({args.plain} runs) | "
        + " | ".join(STRATEGIES)
        + " | shrunk (hypothesis) | delay, loopback | fixed passes |"
    )
    print("|---" * (len(STRATEGIES) + 5) + "|")
    total_runs, total_time = 0, 0.0
    for name in NAMES:
        mod = importlib.import_module("races." + name)
        cells = [name, f"{plain(mod.buggy, args.plain, name in NATIVE)} found"]
        shrunk = "-"
        for strategy in STRATEGIES:
            result = explore(
                mod.buggy, strategy=strategy, runs=args.runs, validate=args.validate
            )
            f = result.failure
            cells.append(f"{result.first_failing_run}" if f else "not found")
            if strategy == "hypothesis" and f:
                shrunk = f"{len(f.decider.log)} of {f.decider.count}"
        cells.append(shrunk)
        loop = explore(mod.buggy, strategy="delay", runs=args.runs, network="loopback")
        cells.append(f"{loop.first_failing_run}" if loop.failure else "not found")
        ok = True
        for strategy in ("delay", "random"):
            started = time.perf_counter()
            result = explore(
                mod.fixed, strategy=strategy, runs=args.runs, validate=args.validate
            )
            total_time += time.perf_counter() - started
            total_runs += result.runs
            ok = ok and result.failure is None
        cells.append("yes" if ok else "NO")
        print("| " + " | ".join(cells) + " |", flush=True)
    print(
        f"\nfixed programs: {total_runs} runs in {total_time:.2f} s = "
        f"{total_runs / total_time:.0f} runs/s"
        + (" (every trace validated)" if args.validate else "")
    )


if __name__ == "__main__":
    main()
