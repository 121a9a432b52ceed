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
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._decide import (
    Decider,
    FixedDecider,
    HypothesisDecider,
    PCTDecider,
    RandomDecider,
    parse_replay,
)
from ._kind import detect
from ._run import Outcome, Settings, run_one

Runner = Callable[..., Outcome]

__all__ = ["STRATEGIES", "ExploreFailure", "Result", "explore", "explorer"]

STRATEGIES = ("default", "random", "delay", "pct", "hypothesis")


class ExploreFailure(AssertionError):
    """A schedule the spec allows made the test fail."""

    # As pytest names it in a report: where users import it from.
    __module__ = "refloop.explore"


@dataclass
class Result:
    name: str
    strategy: str
    runs: int
    failure: Outcome | None
    first_failing_run: int | None = None
    # How each run was made (settings and kind bound): replays use it too.
    run: Runner = field(default=run_one, repr=False)

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
        write its timeline to `path`: a PNG image if the name ends in
        .png, else an SVG document; returns the path."""
        from .._clock import VirtualClock
        from ._png import png
        from ._timeline import Tracer, svg

        replay = self.failure.decider.replay() if self.failure else ""
        tracer = Tracer(VirtualClock())
        outcome = self.run(test, FixedDecider(parse_replay(replay)), tracer=tracer)
        title = f"{self.name}: replay {replay!r}: {outcome.error!r}"
        # spec: explore.picture
        if path.endswith(".png"):
            with open(path, "wb") as binary:
                binary.write(png(tracer.steps, title))
        else:
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
    kind: str = "auto",
    network: str = "simulated",
    executor: str = "virtual",
    partial: bool = True,
    resets: bool = False,
    validate: bool | None = None,
) -> Result:
    """Run `test()` (an async function of no arguments, for asyncio or for
    refloop itself: `kind`) under up to `runs` schedules; the first failing
    schedule is the result's `failure`. `network`: "simulated" (in memory,
    `partial` reads and writes, `resets` if asked) or "loopback" (the
    kernel's); `executor`: "virtual" (thread work on the loop's side) or
    "threads" (real ones: reported as outside the closed world). With
    `validate` (default: the REFLOOP_EXPLORE_VALIDATE environment variable,
    set in refloop's own test suite), every asyncio run's trace is checked
    against the model, and a decision it does not allow is a failure."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an int >= 1, got {runs!r}")
    if not callable(test):
        raise TypeError(f"explore() needs an async function, got {test!r}")
    if validate is None:
        validate = validate_by_default()
    elif not isinstance(validate, bool):
        raise TypeError(f"validate must be True, False or None, got {validate!r}")
    settings = Settings(
        hold=hold,
        slack=slack,
        max_polls=max_polls,
        network=network,
        executor=executor,
        partial=partial,
        resets=resets,
        validate=bool(validate),
    )
    name = getattr(test, "__qualname__", repr(test))
    # spec: explore.kind
    run = functools.partial(run_one, settings=settings, kind=detect(test, kind))
    if replay is not None:
        # spec: explore.replay
        outcome = run(test, FixedDecider(parse_replay(replay)))
        return Result(name, "replay", 1, outcome if outcome.failed else None, 1, run)
    if strategy == "hypothesis":
        return _hypothesis(test, name, runs, seed, run, database)
    # spec: explore.strategy
    deciders = _deciders(strategy, runs, seed, bound, depth, test, run)
    count = 0
    for count, outcome in enumerate(deciders, 1):
        if outcome.failed:
            return Result(name, strategy, count, outcome, count, run)
        if count >= runs:
            break
    return Result(name, strategy, count, None, None, run)


def validate_by_default() -> bool:
    """Whether explore() validates when not told: REFLOOP_EXPLORE_VALIDATE
    set to anything but "" or "0"."""
    # spec: explore.validate
    return os.environ.get("REFLOOP_EXPLORE_VALIDATE", "") not in ("", "0")


def _deciders(
    strategy: str,
    runs: int,
    seed: int,
    bound: int,
    depth: int,
    test: Callable[[], Any],
    run: Runner,
) -> Iterator[Outcome]:
    if strategy == "default":
        yield run(test, FixedDecider())
    elif strategy == "delay":
        yield from delay_bounded(test, run, bound)
    else:
        for i in range(runs):
            decider: Decider
            if strategy == "random":
                decider = RandomDecider(seed * 1_000_003 + i)
            else:
                decider = PCTDecider(seed * 1_000_003 + i, depth=depth)
            yield run(test, decider)


def delay_bounded(
    test: Callable[[], Any], run: Runner | Settings, bound: int
) -> Iterator[Outcome]:
    """Every schedule with at most `bound` deviations from the default run,
    fewest first, earliest first (delay bounding, Emmi et al., POPL 2011)."""
    if isinstance(run, Settings):
        run = functools.partial(run_one, settings=run)
    queue: deque[dict[int, tuple[int, int]]] = deque([{}])
    while queue:
        choices = queue.popleft()
        outcome = run(test, FixedDecider(choices))
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
    run: Runner,
    database: Any,
) -> Result:
    from hypothesis import HealthCheck, Phase, Verbosity, given
    from hypothesis import seed as hseed
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    failures: list[tuple[int, Outcome]] = []
    count = [0]

    class _Failed(Exception):
        pass

    def one(data: Any) -> None:
        count[0] += 1
        decider = HypothesisDecider(data)
        outcome = run(test, decider)
        if decider.stopped is not None:
            raise decider.stopped
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
            # The explain phase reruns the shrunk schedule under a tracer,
            # ten times slower, to say what it already prints.
            phases=[p for p in Phase if p is not Phase.explain],
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
        return Result(name, "hypothesis", count[0], None, None, run)
    # The last failing run is Hypothesis's shrunk example, replayed.
    return Result(name, "hypothesis", count[0], failures[-1][1], failures[0][0], run)


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
