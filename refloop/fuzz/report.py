"""The campaign's final report (definitions of what is counted: messages.py).

Per-worker rates divide by worker-seconds (the time workers spent running
Hypothesis, summed), so they do not depend on how many workers ran.
"""

from __future__ import annotations

import shlex
from collections import Counter
from typing import TYPE_CHECKING

from .display import clock
from .messages import DEFAULT_DB, Failure
from .target import Target

if TYPE_CHECKING:
    from .campaign import Summary

__all__ = ["format_report", "replay_command"]


def replay_command(target: Target, db: str, failure_id: str | None = None) -> str:
    argv = ["refloop", "fuzz", *target.argv]
    if db != DEFAULT_DB:
        argv += ["--db", db]
    argv += ["--replay-id", failure_id] if failure_id else ["--replay"]
    return shlex.join(argv)


def _short(name: str, at_most: int = 60) -> str:
    return name if len(name) <= at_most else name[: at_most - 3] + "..."


def _table(counts: Counter[str], extra: Counter[str] | None = None) -> list[str]:
    width = max((len(_short(name)) for name in counts), default=0)
    rows = []
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        more = f"  {extra[name]:>10,}" if extra is not None else ""
        rows.append(f"  {_short(name):<{width}}  {count:>10,}{more}")
    return rows


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.1f}/s" if seconds > 0 else "-"


def format_report(summary: Summary) -> str:
    config, counts = summary.config, summary.counts
    how = " ".join(config.target.argv) or config.target.spec
    lines = [
        f"refloop fuzz report: {summary.machine} ({how})",
        f"  ran {clock(summary.elapsed)} on {config.workers} worker(s), "
        f"stopped: {summary.stopped_by or 'all workers finished'}",
        f"  database {config.db}; seed {config.seed}; {config.steps} steps at most",
        "",
        f"  examples {counts.examples:>12,}   {_rate(counts.examples, counts.seconds)}"
        " per worker (every phase: replay, generate, shrink)",
        f"  steps    {counts.steps:>12,}   {_rate(counts.steps, counts.seconds)}"
        " per worker",
        f"  ({counts.seconds:,.1f} worker-seconds; all workers: "
        f"{_rate(counts.examples, summary.elapsed)} examples, "
        f"{_rate(counts.steps, summary.elapsed)} steps)",
        "",
        "rules run (steps; examples that ran the rule)",
        *_table(counts.rule_steps, counts.rule_examples),
    ]
    if summary.spec_ids and not counts.spec:
        lines += [
            "",
            "spec rules exercised: none (the machine ran no refloop.model code)",
        ]
    elif summary.spec_ids:
        never = sorted(summary.spec_ids - set(counts.spec))
        lines += [
            "",
            f"spec rules exercised: {len(counts.spec)} of {len(summary.spec_ids)} "
            "(examples in which the model ran the code citing the rule)",
            *_table(counts.spec),
            f"  never: {', '.join(never) if never else '-'}",
        ]
    if counts.events:
        lines += ["", "events (examples)", *_table(counts.events)]
    lines += ["", *_failures(summary)]
    if summary.crashes:
        lines += ["", f"worker crashes: {len(summary.crashes)}"]
        for crash in summary.crashes:
            last = crash.error.strip().splitlines()[-1:] or ["no message"]
            then = "restarted" if crash.restarted else "not restarted"
            lines.append(
                f"  worker {crash.worker} at {clock(crash.at)}: exit code "
                f"{crash.exitcode}, {last[0]}; {then}"
            )
    return "\n".join(lines) + "\n"


def _failures(summary: Summary) -> list[str]:
    found = summary.found
    new = sum(1 for _, _, failure in found if not failure.replayed)
    lines = [
        f"failures stored in the database: {len(summary.stored)} "
        f"(reported {len(found)} time(s) in this campaign: {new} found anew, "
        f"{len(found) - new} replayed)"
    ]
    for number, failure in enumerate(summary.stored, start=1):
        lines += [
            "",
            f"  {number}. {failure.id}  {failure.error}",
            _origin(summary, failure),
        ]
        lines += [f"       {line}" for line in failure.program.splitlines()]
        command = replay_command(summary.config.target, summary.config.db, failure.id)
        lines.append(f"     replay: {command}")
    if summary.stored:
        every = replay_command(summary.config.target, summary.config.db)
        lines += ["", f"  replay them all: {every}"]
    return lines


def _origin(summary: Summary, failure: Failure) -> str:
    seen = [(at, worker, f) for at, worker, f in summary.found if f.id == failure.id]
    if not seen:
        return (
            "     stored, not reported by any worker (shrinking cut short, or "
            "stored before); replayed at the end, shrunk as far as it got"
        )
    at, worker, first = seen[0]
    how = "replayed from the database" if first.replayed else "found anew"
    return (
        f"     first reported by worker {worker} at {clock(at)} ({how}), "
        f"{len(seen)} time(s) in all; shrunk"
    )
