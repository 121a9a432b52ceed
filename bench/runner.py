"""Interleaving: every peer once per round, in a rotated order, round by round.

The runner knows nothing about what is measured. A benchmark hands it cases
(one configuration each), the peers to compare, and a way to open a round
(for most benchmarks: run a child process; for echo: start every server).
It collects one `Record` per peer, case and round, and notes why a peer has
no figures rather than stopping the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: children run here so `bench` and `refloop` import."""


@dataclass(frozen=True)
class Metric:
    """One figure a benchmark reports, and how to show it."""

    key: str
    label: str
    lower_is_better: bool = True
    digits: int = 1
    ratio: bool = True
    """Whether tables show this figure against the baseline's."""


@dataclass(frozen=True)
class Case:
    """One configuration of a benchmark; `peers` limits who runs it."""

    config: str
    params: Mapping[str, Any]
    peers: tuple[str, ...] | None = None


@dataclass
class Record:
    """The figures of one peer, in one case, in one round."""

    bench: str
    config: str
    peer: str
    round: int
    metrics: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: int = 0
    """Peers that crashed or hung (skips do not count): a non-zero exit."""


class PeerFailed(Exception):
    """A peer's child crashed, hung or printed no figures."""


class PeerSkipped(Exception):
    """A peer cannot run this case here (not installed, API missing)."""


Measure = Callable[[str, Case], Mapping[str, Any]]
"""Run one peer on one case; return {"metrics": {...}, "extra": {...}}."""


def rotate(peers: Sequence[str], offset: int) -> list[str]:
    """The peers starting at `offset`: round r runs them from peer r on, so
    each peer runs first, second, ... equally often across rounds."""
    if not peers:
        return []
    k = offset % len(peers)
    return [*peers[k:], *peers[:k]]


def run_child(
    module: str, peer: str, params: Mapping[str, Any], timeout: float
) -> dict[str, Any]:
    """Run ``python -m module peer params`` and parse its last stdout line."""
    cmd = [sys.executable, "-m", module, peer, json.dumps(dict(params))]
    try:
        done = subprocess.run(
            cmd,
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=pin(),
        )
    except subprocess.TimeoutExpired:
        raise PeerFailed(f"{module} {peer} took over {timeout:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        raise PeerFailed(
            f"{module} {peer} exited {done.returncode}: {' | '.join(tail)}"
        )
    out: dict[str, Any] = json.loads(lines[-1])
    if "skip" in out:
        raise PeerSkipped(str(out["skip"]))
    return out


def pin() -> Callable[[], None] | None:
    """A preexec_fn that pins a child to the last CPU we may use, or None.

    Every measured process (and the echo load client) runs on that one CPU,
    leaving the others to the runner and the system. For echo this means the
    client and the server share a core and take turns: on this project's VMs
    a pair split over two cores spends two thirds of its time waiting for
    cross-core wakeups, so figures then measure wakeup latency, not CPU; and
    unpinned, the scheduler stacks the pair on one core most of the time
    anyway, but not always. Set BENCH_NO_PIN=1 to leave placement to the OS.
    """
    if os.environ.get("BENCH_NO_PIN") or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    cpu = cpus[-1]
    return lambda: os.sched_setaffinity(0, {cpu})


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    env["PYTHONHASHSEED"] = "0"
    return env


def child_rounds(
    module: str, timeout: float
) -> Callable[[int], AbstractContextManager[Measure]]:
    """Rounds for a benchmark whose every measurement is one child process."""

    def measure(peer: str, case: Case) -> Mapping[str, Any]:
        return run_child(module, peer, case.params, timeout)

    def open_round(r: int) -> AbstractContextManager[Measure]:
        return contextlib.nullcontext(measure)

    return open_round


def interleave(
    bench: str,
    cases: Sequence[Case],
    peers: Sequence[str],
    rounds: int,
    open_round: Callable[[int], AbstractContextManager[Measure]],
    results: Results,
    log: Callable[[str], None],
) -> None:
    """Measure every peer on every case once per round, rotating the order.

    A peer that skips is dropped from the whole benchmark (it lacks a module
    or an API, whatever the case); one that fails is dropped from that case
    only, and counted in `results.failures`.
    """
    skipped: set[str] = set()
    failed: set[tuple[str, str]] = set()
    started = time.monotonic()
    for r in range(rounds):
        with open_round(r) as measure:
            for case in cases:
                for peer in rotate(peers, r):
                    if case.peers is not None and peer not in case.peers:
                        continue
                    if peer in skipped or (peer, case.config) in failed:
                        continue
                    try:
                        got = measure(peer, case)
                    except PeerSkipped as exc:
                        skipped.add(peer)
                        results.notes.append(f"{bench}: {peer} skipped: {exc}")
                        continue
                    except PeerFailed as exc:
                        failed.add((peer, case.config))
                        results.failures += 1
                        note = f"{bench} [{case.config}]: {peer} failed: {exc}"
                        results.notes.append(note)
                        continue
                    metrics = {k: float(v) for k, v in got["metrics"].items()}
                    extra = dict(got.get("extra", {}))
                    results.records.append(
                        Record(bench, case.config, peer, r, metrics, extra)
                    )
        log(
            f"{bench}: round {r + 1}/{rounds} done ({time.monotonic() - started:.0f} s)"
        )
