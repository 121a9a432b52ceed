"""Decision points, the log of decisions, and the strategies that draw them.

Rules this module keeps (spec: explore.*):

1. Option 0 of every decision point is refloop's fixed choice: a run whose
   decisions are all 0 is the loop's default run (explore.default).
2. Every decision is logged with its index, kind and number of options; the
   non-default ones are the replay string (explore.replay), and a replay
   whose points no longer match is reported as diverged, not trusted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Decider",
    "Decision",
    "Diverged",
    "FixedDecider",
    "HypothesisDecider",
    "PCTDecider",
    "Point",
    "RandomDecider",
    "format_replay",
    "parse_replay",
]

# The spec rule that grants each kind of decision.
RULES = {
    "hold": "explore.poll.hold",
    "late": "explore.clock.late",
    "busy": "explore.clock.busy",
    "post": "explore.thread.post",
    "recv": "explore.net.partial-recv",
    "send": "explore.net.partial-send",
    "delay": "explore.net.delay",
    "reset": "explore.net.reset",
}


@dataclass
class Point:
    """One decision point: `options` choices, 0 the loop's fixed one."""

    kind: str
    options: int
    label: Callable[[int], str]
    source: tuple[int, int] | None = None
    peers: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Decision:
    index: int
    kind: str
    options: int
    chosen: int
    text: str


class Diverged(Exception):
    """A replay met a decision point that does not match its schedule."""


class Decider:
    """Draws decisions and logs them; subclasses override `pick`."""

    def __init__(self) -> None:
        self.count = 0
        self.log: list[Decision] = []
        self.options: list[int] = []

    def choose(self, point: Point) -> int:
        index = self.count
        self.count += 1
        chosen = self.pick(index, point)
        if not 0 <= chosen < point.options:
            raise ValueError(f"decision {index} chose {chosen} of {point.options}")
        self.options.append(point.options)
        if chosen:
            text = f"{point.label(chosen)}  [{RULES[point.kind]}]"
            self.log.append(Decision(index, point.kind, point.options, chosen, text))
        return chosen

    def pick(self, index: int, point: Point) -> int:
        # spec: explore.default
        return 0

    def replay(self) -> str:
        return format_replay(self.log)

    def schedule(self) -> str:
        """The non-default decisions, one a line (the shrunk schedule)."""
        if not self.log:
            return "  (the default schedule: no decision deviates)"
        return "\n".join(f"  #{d.index}: {d.text}" for d in self.log)


def format_replay(log: list[Decision]) -> str:
    return ",".join(f"{d.index}:{d.chosen}/{d.options}" for d in log)


def parse_replay(text: str) -> dict[int, tuple[int, int]]:
    """'index:chosen/options,...' as {index: (chosen, options)}."""
    out: dict[int, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            head, options = part.split("/")
            index, chosen = head.split(":")
            out[int(index)] = (int(chosen), int(options))
        except ValueError:
            raise ValueError(
                f"bad replay entry {part!r} in {text!r}: expected "
                "'index:chosen/options' entries separated by commas"
            ) from None
    return out


class FixedDecider(Decider):
    """The given choices at the given indices, 0 elsewhere: the default run,
    a replay, and the schedules that delay bounding enumerates."""

    def __init__(self, choices: dict[int, tuple[int, int]] | None = None) -> None:
        super().__init__()
        self.choices = choices or {}

    def pick(self, index: int, point: Point) -> int:
        entry = self.choices.get(index)
        if entry is None:
            # spec: explore.default
            return 0
        chosen, options = entry
        if options != point.options:
            raise Diverged(
                f"replay diverged at decision {index}: the schedule expected "
                f"{options} options, the run offers {point.options} "
                f"({point.label(0)}); the test is not deterministic under a "
                "fixed schedule (it reads real time, randomness or set order)"
            )
        return chosen


class RandomDecider(Decider):
    """Each decision deviates with probability `p`, uniformly."""

    def __init__(self, seed: int, p: float = 0.1) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.p = p

    def pick(self, index: int, point: Point) -> int:
        if self.rng.random() >= self.p:
            return 0
        return self.rng.randrange(1, point.options)


class PCTDecider(Decider):
    """PCT over event sources (Burckhardt et al., ASPLOS 2010).

    Each event source (a (registration, direction) of the selector; the
    clock is one more source) gets a random distinct priority when first
    seen; at each poll an event is delivered only if no other event ready in
    the same poll has a higher priority (otherwise it is held one poll), and
    time passes while the loop is busy only when the clock outranks every
    ready event. At d-1 change points, drawn uniformly among the first k
    decision points, the source deciding there drops below every priority
    given so far.
    """

    CLOCK = (-1, 0)
    CPU = (-2, 0)

    def __init__(self, seed: int, depth: int = 2, k: int = 200) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.prio: dict[tuple[int, int], float] = {}
        self.changes = set(self.rng.sample(range(1, k + 1), max(0, depth - 1)))
        self.low = 0.0

    def _priority(self, source: tuple[int, int]) -> float:
        if source not in self.prio:
            self.prio[source] = 1.0 + self.rng.random()
        return self.prio[source]

    def pick(self, index: int, point: Point) -> int:
        source = point.source or self.CLOCK
        if index in self.changes:
            self.low -= 1.0
            self.prio[source] = self.low
        if point.kind in ("recv", "send", "delay", "reset"):
            return 0  # how data moves, not an order: PCT leaves it to loopback
        mine = self._priority(source)
        if point.kind in ("hold", "post"):
            rivals = [self._priority(p) for p in point.peers if p != source]
            if point.options > 1 and rivals and max(rivals) > mine:
                return 1
            return 0
        # The clock against the loop's own work (source CPU): when the clock
        # outranks it, time runs ahead (busy) and timers fire late (late).
        if mine <= self._priority(self.CPU):
            return 0
        return 1 if point.kind == "busy" else point.options - 1


class HypothesisDecider(Decider):
    """Decisions drawn from Hypothesis's `st.data()`, so a failing schedule
    shrinks toward the default run and is stored in the example database."""

    def __init__(self, data: Any, rate: int = 8, limit: int = 200) -> None:
        super().__init__()
        self.data = data
        self.rate = rate
        self.limit = limit
        # What Hypothesis raised to stop the example (its buffer ran out):
        # the rest of the run takes option 0 and the runner re-raises this,
        # because the test's own code (a transport's except clause) may
        # have swallowed it.
        self.stopped: BaseException | None = None

    def pick(self, index: int, point: Point) -> int:
        from hypothesis import strategies as st

        if index >= self.limit or self.stopped is not None:
            return 0  # past the first `limit` points: Hypothesis's buffer is finite
        try:
            # Small values shrink to "no deviation"; one draw in `rate` deviates.
            if self.data.draw(st.integers(0, self.rate - 1)) != self.rate - 1:
                return 0
            if point.options == 2:
                return 1
            return int(self.data.draw(st.integers(1, point.options - 1)))
        except BaseException as stop:
            self.stopped = stop
            return 0
