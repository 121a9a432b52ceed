"""How fast the model checker explores, with and without its reductions.

    python -m bench.check_speed                 # echo with 2 and 3 clients
    python -m bench.check_speed --clients 2 3 4 --rounds 5

Explores the echo system (`models/echo.py`) with macro-steps on and off and
prints, for each, the distinct states stored, the steps generated, the CPU
seconds of the whole check (exploration and judgement; this process's CPU
clock, so other work on a shared machine counts only through contention)
and distinct states per CPU second, best of the rounds, then the factor by
which macro-steps cut the states. A benchmark, not a test: it asserts
nothing.

Small systems understate the rate: every distinct model state costs a run
of the model and its invariants, and echo-3 has one for every seven stored
states, echo-4 one for every 27. echo-4 (427,000 states without
macro-steps, 230,000 with) takes some 10 CPU seconds a round either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from refloop.check import Options, System, check

MODELS = Path(__file__).resolve().parent.parent / "models"


def _echo() -> Callable[[int], System]:
    spec = importlib.util.spec_from_file_location(
        "bench_echo_model", MODELS / "echo.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    echo: Callable[[int], System] = module.echo
    return echo


def measure(system: System, macro: bool, rounds: int) -> tuple[int, int, float, str]:
    best = float("inf")
    states = steps = 0
    verdict = ""
    for _ in range(rounds):
        started = time.process_time()
        result = check(system, Options(macro=macro, max_states=2_000_000))
        best = min(best, time.process_time() - started)
        states, steps, verdict = result.states, result.graph.generated, result.verdict
        # Freed here, not inside the next round's timing.
        del result
    return states, steps, best, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    echo = _echo()
    print(
        f"{'system':8} {'macro':5} {'states':>9} {'steps':>9} {'cpu s':>7} "
        f"{'states/s':>9}  verdict"
    )
    for clients in args.clients:
        system = echo(clients)
        rows = {}
        for macro in (False, True):
            states, steps, cpu, verdict = measure(system, macro, args.rounds)
            rows[macro] = states
            print(
                f"{system.name:8} {'on' if macro else 'off':5} {states:9,} "
                f"{steps:9,} {cpu:7.2f} {states / cpu:9,.0f}  {verdict}"
            )
        factor = rows[False] / rows[True]
        print(f"{system.name}: macro-steps store {factor:.2f}x fewer states")
    return 0


if __name__ == "__main__":
    sys.exit(main())
