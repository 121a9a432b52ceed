"""The verdict on an explored system: every property judged over its graph
(invariants, the system's own properties, deadlock, liveness), with a
shortest counterexample for each one that fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ...model import INVARIANTS
from ..search.graph import Edge, Graph
from ..systems.system import NO_DEADLOCK, System
from .liveness import deadlocked, fair_cycles, path_to

__all__ = ["Counterexample", "Result", "judge"]


class Counterexample(NamedTuple):
    rule: str
    text: str
    stem: list[tuple[int, Edge]]
    # For liveness: the cycle repeated for ever after the stem.
    cycle: list[tuple[int, Edge]] | None = None


@dataclass
class Result:
    system: System
    graph: Graph
    failures: dict[str, Counterexample] = field(default_factory=dict)
    finals: int = 0

    @property
    def verdict(self) -> str:
        if self.failures:
            return "fail: " + ", ".join(sorted(self.failures))
        if self.graph.bounded:
            # spec: prop.bounds
            return f"bounded ({self.graph.bounded})"
        return "pass"

    @property
    def expected(self) -> str:
        if self.system.expect:
            return "fail: " + ", ".join(sorted(self.system.expect))
        return "pass"

    @property
    def as_expected(self) -> bool:
        return self.verdict == self.expected

    @property
    def states(self) -> int:
        return len(self.graph.worlds)


def _text(system: System, rule: str) -> str:
    if rule in INVARIANTS:
        doc = INVARIANTS[rule].__doc__ or rule
        return " ".join(doc.split())
    for prop in (*system.always, *system.at_end):
        if prop.id == rule:
            return prop.text
    return rule


def judge(system: System, g: Graph) -> Result:
    """Every property of `system`, judged over its explored graph `g`."""
    result = Result(system, g)
    failures = result.failures
    # spec: prop.invariants
    for rule, i in sorted(g.broken.items(), key=lambda item: item[1]):
        failures[rule] = Counterexample(rule, _text(system, rule), path_to(g, i))
    fair_env = g.fair_mask() & ~1
    for i in range(len(g.codes)):
        # spec: prop.at-end
        if not (g.expanded[i] and g.finished(i) and not g.emask_of(i) & fair_env):
            continue
        result.finals += 1
        w = g.worlds[i]
        for prop in system.at_end:
            if prop.id not in failures and not prop.holds(w):
                failures[prop.id] = Counterexample(prop.id, prop.text, path_to(g, i))
    dead = deadlocked(g)
    # spec: prop.no-deadlock
    first = next((i for i, d in enumerate(dead) if d), None)
    if first is not None:
        failures[NO_DEADLOCK] = Counterexample(
            NO_DEADLOCK,
            "no task can ever run again, and not every task has finished",
            path_to(g, first),
        )
    if system.liveness:
        for rule, lasso in fair_cycles(g, dead).items():
            failures[rule] = Counterexample(rule, lasso.text, lasso.stem, lasso.cycle)
    return result
