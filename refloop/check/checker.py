"""Check one closed system: explore its states (refloop.check.search), then
judge every property over them (refloop.check.judge)."""

from __future__ import annotations

from .judge.verdict import Counterexample, Result, judge
from .search.bfs import explore, no_cycle_collector
from .search.graph import Options
from .systems.system import System

__all__ = ["Counterexample", "Result", "check"]


def check(system: System, options: Options | None = None) -> Result:
    problems = system.problems()
    if problems:
        raise ValueError("; ".join(problems))
    with no_cycle_collector():
        return judge(system, explore(system, options))
