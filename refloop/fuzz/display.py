"""The campaign's live display, on stderr (the report goes to stdout).

On a terminal, one status line redrawn in place every half second; otherwise
(CI, a pipe) a status line every `interval` seconds. Failures, crashes and
notes are printed on lines of their own as they happen.

The status line: elapsed and remaining time, examples and steps with their
rates over the last few seconds (all workers together), distinct failures so
far, and how many of the model's spec rules the examples have exercised.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, TextIO

from .messages import Failure

if TYPE_CHECKING:
    from .campaign import Crash, Summary

__all__ = ["Display", "clock"]

WINDOW = 5.0  # seconds the rates are measured over


def clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:04.1f}"


class Display:
    def __init__(
        self, stream: TextIO, *, live: bool | None = None, interval: float = 10.0
    ) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.interval = 0.5 if self.live else interval
        self._shown = float("-inf")
        self._line = False  # a status line is on screen, unfinished
        self._samples: deque[tuple[float, int, int]] = deque()

    def start(self, summary: Summary) -> None:
        config = summary.config
        limits = []
        if config.seconds is not None:
            limits.append(f"for {clock(config.seconds)}")
        if config.examples is not None:
            limits.append(f"for {config.examples:,} examples")
        until = " or ".join(limits) or "until Ctrl-C"
        self._print(
            f"refloop fuzz: {summary.machine} on {config.workers} worker(s) {until}; "
            f"database {config.db}; seed {config.seed}"
        )

    def update(self, summary: Summary, now: float) -> None:
        counts = summary.counts
        self._samples.append((now, counts.examples, counts.steps))
        while self._samples[0][0] < now - WINDOW:
            self._samples.popleft()
        if now - self._shown < self.interval:
            return
        self._shown = now
        then, examples, steps = self._samples[0]
        span = max(now - then, 1e-9)
        per_second = (counts.examples - examples) / span
        parts = [
            f"[{clock(now)}{self._left(summary, now)}]",
            f"{counts.examples:,} examples ({per_second:.1f}/s)",
            f"{counts.steps:,} steps ({(counts.steps - steps) / span:,.0f}/s)",
        ]
        distinct = len({failure.id for _, _, failure in summary.found})
        parts.append(f"{distinct} failure{'s' * (distinct != 1)}")
        if summary.spec_ids and counts.spec:
            parts.append(f"spec {len(counts.spec)}/{len(summary.spec_ids)}")
        text = " | ".join(parts)
        if self.live:
            self.stream.write(f"\r\x1b[K{text}")
            self._line = True
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def _left(self, summary: Summary, now: float) -> str:
        config = summary.config
        if summary.stopped_by:
            return ", stopping"
        if config.seconds is not None:
            return f", {clock(max(config.seconds - now, 0))} left"
        return ""

    def found(self, worker: int, failure: Failure, now: float) -> None:
        how = "replayed" if failure.replayed else "found"
        self._print(
            f"[{clock(now)}] worker {worker} {how} failure {failure.id}: "
            f"{failure.error}"
        )

    def crashed(self, crash: Crash) -> None:
        then = "restarted" if crash.restarted else "not restarted"
        last = crash.error.strip().splitlines()[-1:] or ["no message"]
        self._print(
            f"[{clock(crash.at)}] worker {crash.worker} crashed "
            f"(exit code {crash.exitcode}: {last[0]}); {then}"
        )

    def note(self, text: str) -> None:
        self._print(text)

    def finish(self, summary: Summary) -> None:
        self._shown = float("-inf")
        self.update(summary, summary.elapsed)
        if self._line:
            self.stream.write("\n")
            self._line = False
        self.stream.flush()

    def _print(self, text: str) -> None:
        if self._line:
            self.stream.write("\r\x1b[K")
            self._line = False
        self.stream.write(f"{text}\n")
        self.stream.flush()
        if self.live:
            self._shown = float("-inf")  # redraw the status line at once
