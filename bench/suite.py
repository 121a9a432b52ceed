"""What the suite measures: each benchmark's cases, peers and figures.

Two sizes: the default (about 7 minutes on 2 cores) and --quick (under a
minute, every benchmark and peer once or twice, as a smoke test).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.echo import echo_rounds
from bench.runner import Case, Measure, Metric, child_rounds
from bench.servers import SERVERS

LOOP_PEERS = ("floor", "refloop", "asyncio", "uvloop", "trio", "curio")


@dataclass(frozen=True)
class Bench:
    """One benchmark: what it runs and how its tables read."""

    name: str
    title: str
    about: str
    metrics: tuple[Metric, ...]
    cases: tuple[Case, ...]
    peers: tuple[str, ...]
    open_round: Callable[[int], AbstractContextManager[Measure]]
    scaling: bool = False
    """Also tabulate each case against the first, peer by peer."""
    max_rounds: int | None = None
    """Cap on rounds, for figures that do not vary (tracemalloc counts)."""


@dataclass(frozen=True)
class Headline:
    """One bar group in the plot: a figure of every peer over the baseline's."""

    label: str
    bench: str
    case: int | Mapping[str, Any]
    """An index into the cases, or parameter values the case must have."""
    metric: str


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def echo_config(size: int, conns: int) -> str:
    return f"{_size(size)} x {conns:,} conns"


def build(quick: bool, echo_seconds: float | None, log_dir: Path) -> list[Bench]:
    """The benchmarks, sized for --quick or for the default run."""
    window = echo_seconds if echo_seconds is not None else (0.15 if quick else 0.5)
    warmup = 0.05 if quick else 0.15
    if quick:
        grid = [(100, 10), (65536, 100)]
    else:
        grid = [(s, c) for s in (100, 1024, 65536) for c in (10, 100, 1000)]
    echo_cases = tuple(
        Case(
            echo_config(s, c),
            {"size": s, "conns": c, "warmup": warmup, "seconds": window},
        )
        for s, c in grid
    )
    n = 10 if quick else 1
    repeats = 2 if quick else 3
    switch_cases = tuple(
        Case(
            f"{t:,} task{'s' * (t > 1)} x {k:,} yields",
            {"tasks": t, "yields": k, "repeats": repeats},
        )
        for t, k in ((1000 // n, 20), (1, 20000 // n))
    )
    timer_cases = tuple(
        Case(
            f"{name}: {t:,} tasks x {k} sleeps of {lo * 1e3:g}-{hi * 1e3:g} ms",
            {"tasks": t, "sleeps": k, "low": lo, "high": hi, "seed": seed},
        )
        for name, t, k, lo, hi, seed in (
            ("dense", 1000 // n, 20, 0.0, 0.001, 1),
            ("sparse", 10, 100 // n, 0.0005, 0.002, 2),
        )
    )
    idles = (10, 1000) if quick else (10, 1000, 10000)
    idle_cases = tuple(
        Case(f"{i:,} idle", {"idle": i, "yields": 10000 // n, "rtts": 2000 // n})
        for i in idles
    )
    count = 1000 if quick else 5000
    methods = ("tracemalloc",) if quick else ("tracemalloc", "rss")
    memory_cases = tuple(
        Case(
            f"idle {what}s ({method})",
            {
                "what": what,
                "count": count if what == "task" else count * 2 // 5,
                "method": method,
            },
            None if what == "connection" else LOOP_PEERS,
        )
        for what in ("task", "connection")
        for method in methods
    )
    sync_cases = (
        Case(
            "lock: 10 tasks x hand-offs",
            {"kind": "lock", "tasks": 10, "rounds": 2000 // n, "repeats": repeats},
        ),
        *(
            Case(
                f"channel: capacity {c}",
                {
                    "kind": "channel",
                    "capacity": c,
                    "items": 20000 // n,
                    "repeats": repeats,
                },
            )
            for c in (1, 64)
        ),
    )
    return [
        Bench(
            "echo",
            "Echo over loopback TCP",
            "Ping-pong, one message in flight per connection, load client and "
            "server in separate processes. Server CPU is read from the server "
            "process's CPU clock over the measured window. The floor is a "
            "callback server on `selectors`. When the client is near 100% busy "
            "the request rate is the client's limit, not the server's; CPU per "
            "request is then the figure to compare.",
            (
                Metric("rps", "req/s", lower_is_better=False, digits=0),
                Metric("us_cpu_per_req", "server CPU us/req", digits=2),
                Metric("client_busy", "client busy %", digits=0, ratio=False),
            ),
            echo_cases,
            tuple(SERVERS),
            echo_rounds(list(SERVERS), log_dir),
        ),
        Bench(
            "switch",
            "Task switches",
            "CPU per switch while N tasks each yield K times, round-robin. The "
            "floor drives bare coroutines from a deque; `floor+poll` also polls "
            "a selector once per pass over the run queue, as any loop that "
            "watches sockets must.",
            (Metric("ns_per_switch", "CPU ns/switch", digits=0),),
            switch_cases,
            ("floor", "floor+poll", *LOOP_PEERS[1:]),
            child_rounds("bench.switch", 120),
        ),
        Bench(
            "timers",
            "Timers",
            "Tasks sleeping for seeded random delays. CPU per sleep over the "
            "whole run; lateness is wake time minus asked time. The floor is a "
            "heapq of callbacks and a selector; `floor+tasks` puts a bare "
            "coroutine behind each sleeper, as a loop of tasks must.",
            (
                Metric("us_cpu_per_sleep", "CPU us/sleep", digits=2),
                Metric("late_p50_us", "late p50 us", digits=0),
                Metric("late_p99_us", "late p99 us", digits=0),
            ),
            timer_cases,
            ("floor", "floor+tasks", *LOOP_PEERS[1:]),
            child_rounds("bench.timers", 120),
        ),
        Bench(
            "idle",
            "Idle scaling",
            "N idle connections, each with a reader waiting, while one task "
            "yields (CPU per loop iteration) and two tasks ping-pong one byte "
            "over loopback TCP (wall time per round trip). The second table "
            "divides each case by the first, round by round: 1.00 is flat.",
            (
                Metric("ns_per_iteration", "CPU ns/iteration", digits=0),
                Metric("us_per_rtt", "us/round trip", digits=1),
            ),
            idle_cases,
            LOOP_PEERS,
            child_rounds("bench.idle", 180),
            scaling=True,
        ),
        Bench(
            "sync",
            "Lock hand-off and channel throughput",
            "CPU per lock acquisition while 10 tasks each take a lock and yield "
            "once holding it (every release hands it to a waiter), and CPU per "
            "item from one producer to one consumer through a bounded channel "
            "(asyncio.Queue, trio's memory channel). Ratios are to refloop.",
            (Metric("ns_per_op", "CPU ns/op", digits=0),),
            sync_cases,
            ("refloop", "asyncio", "trio"),
            child_rounds("bench.sync", 120),
        ),
        Bench(
            "memory",
            "Memory",
            "Bytes per idle task (waiting on the peer's event) and per idle "
            "connection (a reader waiting; the socket itself is not counted). "
            "Floors: a bare suspended coroutine; a selector registration.",
            (Metric("bytes_per_item", "bytes/item", digits=0),),
            memory_cases,
            (
                "floor",
                "refloop",
                "asyncio",
                "asyncio-protocols",
                "uvloop",
                "uvloop-protocols",
                "trio",
                "curio",
            ),
            child_rounds("bench.memory", 180),
            max_rounds=1 if quick else None,
        ),
    ]


HEADLINES = (
    Headline(
        "echo 100 B x 10: CPU/req", "echo", {"size": 100, "conns": 10}, "us_cpu_per_req"
    ),
    Headline(
        "echo 64 KiB x 100: CPU/req",
        "echo",
        {"size": 65536, "conns": 100},
        "us_cpu_per_req",
    ),
    Headline("switch: many tasks", "switch", 0, "ns_per_switch"),
    Headline("switch: one task", "switch", 1, "ns_per_switch"),
    Headline("timers: CPU/sleep (dense)", "timers", 0, "us_cpu_per_sleep"),
    Headline("idle: iteration (most idle)", "idle", -1, "ns_per_iteration"),
    Headline("idle: round trip (most idle)", "idle", -1, "us_per_rtt"),
    Headline(
        "memory: per idle task",
        "memory",
        {"what": "task", "method": "tracemalloc"},
        "bytes_per_item",
    ),
    Headline(
        "memory: per idle conn",
        "memory",
        {"what": "connection", "method": "tracemalloc"},
        "bytes_per_item",
    ),
)
"""The plot's bar groups."""


def pick(benches: list[Bench], headline: Headline) -> tuple[Bench, Case] | None:
    """The benchmark and case a headline stands for, if this run has them."""
    for bench in benches:
        if bench.name != headline.bench or not bench.cases:
            continue
        if isinstance(headline.case, int):
            return bench, bench.cases[headline.case]
        for case in bench.cases:
            if all(case.params.get(k) == v for k, v in headline.case.items()):
                return bench, case
    return None
