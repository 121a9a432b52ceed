"""`explore()`, its result, and the `@explore(...)` decorator.

Rules this module keeps (spec: explore.*):

1. Strategies: "default" (one run, refloop's fixed choices), "random",
   "delay" (delay bounding, systematic), "pct", "hypothesis"
   (explore.strategy).
2. A failure names its schedule and the one argument that replays it
   (explore.replay).
"""

from __future__ import annotations

import functools
import inspect
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._decide import (
    Decider,
    FixedDecider,
    HypothesisDecider,
    PCTDecider,
    RandomDecider,
    parse_replay,
)
from ._run import Outcome, Settings, run_one

__all__ = ["STRATEGIES", "ExploreFailure", "Result", "explore", "explorer"]

STRATEGIES = ("default", "random", "delay", "pct", "hypothesis")


class ExploreFailure(AssertionError):
    """A schedule the spec allows made the test fail."""


@dataclass
class Result:
    name: str
    strategy: str
    runs: int
    failure: Outcome | None
    first_failing_run: int | None = None

    def message(self) -> str:
        f = self.failure
        if f is None:
            return f"{self.name}: {self.runs} runs ({self.strategy}), no failure"
        replay = f.decider.replay()
        text = [
            f"refloop.explore: {self.name} failed on run {self.first_failing_run} "
            f"({self.strategy}, {self.runs} runs)",
            f"  {type(f.error).__name__}: {f.error}",
            f"schedule ({len(f.decider.log)} of {f.decider.count} decisions "
            f"deviate; {f.polls} polls, virtual time {f.virtual_time:g} s):",
            f.decider.schedule(),
        ]
        if f.tasks:
            text += ["tasks:", f.tasks.rstrip()]
        text.append(
            f'replay: @refloop.testing.explore(replay="{replay}")  or  '
            f'refloop.explore.explore(test, replay="{replay}")'
        )
        return "\n".join(text)

    def picture(self, test: Callable[[], Any], path: str) -> str:
        """Replay the failing schedule (or the default one) with tracing and
        write its SVG timeline to `path`; returns the path."""
        from .._clock import VirtualClock
        from ._timeline import Tracer, svg

        replay = self.failure.decider.replay() if self.failure else ""
        tracer = Tracer(VirtualClock())
        outcome = run_one(test, FixedDecider(parse_replay(replay)), tracer=tracer)
        title = f"{self.name}: replay {replay!r}: {outcome.error!r}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg(tracer.steps, title))
        return path

    def raise_for_failure(self) -> None:
        if self.failure is not None:
            raise ExploreFailure(self.message()) from self.failure.error


def explore(
    test: Callable[[], Any],
    *,
    runs: int = 100,
    strategy: str = "delay",
    seed: int = 0,
    replay: str | None = None,
    hold: int = 2,
    slack: float = 0.1,
    max_polls: int = 5000,
    bound: int = 2,
    depth: int = 2,
    database: Any = None,
) -> Result:
    """Run `test()` (an async function of no arguments) under up to `runs`
    schedules; the first failing schedule is the result's `failure`."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an int >= 1, got {runs!r}")
    if not callable(test):
        raise TypeError(f"explore() needs an async function, got {test!r}")
    settings = Settings(hold=hold, slack=slack, max_polls=max_polls)
    name = getattr(test, "__qualname__", repr(test))
    if replay is not None:
        # spec: explore.replay
        outcome = run_one(test, FixedDecider(parse_replay(replay)), settings)
        return Result(name, "replay", 1, outcome if outcome.failed else None, 1)
    if strategy == "hypothesis":
        return _hypothesis(test, name, runs, seed, settings, database)
    # spec: explore.strategy
    deciders = _deciders(strategy, runs, seed, bound, depth, test, settings)
    count = 0
    for count, outcome in enumerate(deciders, 1):
        if outcome.failed:
            return Result(name, strategy, count, outcome, count)
        if count >= runs:
            break
    return Result(name, strategy, count, None)


def _deciders(
    strategy: str,
    runs: int,
    seed: int,
    bound: int,
    depth: int,
    test: Callable[[], Any],
    settings: Settings,
) -> Iterator[Outcome]:
    if strategy == "default":
        yield run_one(test, FixedDecider(), settings)
    elif strategy == "delay":
        yield from delay_bounded(test, settings, bound)
    else:
        for i in range(runs):
            decider: Decider
            if strategy == "random":
                decider = RandomDecider(seed * 1_000_003 + i)
            else:
                decider = PCTDecider(seed * 1_000_003 + i, depth=depth)
            yield run_one(test, decider, settings)


def delay_bounded(
    test: Callable[[], Any], settings: Settings, bound: int
) -> Iterator[Outcome]:
    """Every schedule with at most `bound` deviations from the default run,
    fewest first, earliest first (delay bounding, Emmi et al., POPL 2011)."""
    queue: deque[dict[int, tuple[int, int]]] = deque([{}])
    while queue:
        choices = queue.popleft()
        outcome = run_one(test, FixedDecider(choices), settings)
        yield outcome
        if len(choices) >= bound:
            continue
        start = max(choices, default=-1) + 1
        options = outcome.decider.options
        for index in range(start, len(options)):
            for chosen in range(1, options[index]):
                queue.append({**choices, index: (chosen, options[index])})


def _hypothesis(
    test: Callable[[], Any],
    name: str,
    runs: int,
    seed: int,
    settings: Settings,
    database: Any,
) -> Result:
    from hypothesis import HealthCheck, Verbosity, given
    from hypothesis import seed as hseed
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    failures: list[tuple[int, Outcome]] = []
    count = [0]

    class _Failed(Exception):
        pass

    def one(data: Any) -> None:
        count[0] += 1
        outcome = run_one(test, HypothesisDecider(data), settings)
        if outcome.failed:
            failures.append((count[0], outcome))
            raise _Failed(str(outcome.error))

    one.__qualname__ = one.__name__ = "explore_" + "".join(
        c if c.isalnum() else "_" for c in name
    )
    digest = f"refloop.explore:{getattr(test, '__module__', '')}.{name}"
    one._hypothesis_internal_add_digest = digest.encode()  # type: ignore[attr-defined]
    runner = hseed(seed)(
        hsettings(
            max_examples=runs,
            deadline=None,
            database=database,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
        )(given(st.data())(one))
    )
    try:
        runner()
    except _Failed:
        pass
    except Exception:  # Flaky and friends: report the last failure seen
        if not failures:
            raise
    if not failures:
        return Result(name, "hypothesis", count[0], None)
    # The last failing run is Hypothesis's shrunk example, replayed.
    return Result(name, "hypothesis", count[0], failures[-1][1], failures[0][0])


def explorer(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """`@explorer(runs=500)`: the decorated async test runs under `explore`
    (as refloop.testing.explore); fixtures and arguments pass through."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., None]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@explore needs an async def function, got {fn!r}")

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> None:
            result = explore(lambda: fn(*args, **kwargs), **options)
            result.name = fn.__qualname__
            result.raise_for_failure()

        return run

    return wrap
