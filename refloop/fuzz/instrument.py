"""A state machine that counts what it does and stops when asked.

`instrument(Machine, tally, checkpoint)` is a subclass of Machine with the
same name (so that the program Hypothesis prints still reads
`state = Machine()`) that reports examples, steps and rules to `tally`
(definitions in messages.py) and calls `checkpoint()` before each example
and each step; `checkpoint` stops the run by raising `Stopped`.

`Stopped` is a KeyboardInterrupt because that is the one exception Hypothesis
lets through untouched: it neither shrinks it nor deletes anything from the
database because of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from hypothesis import settings as Settings
from hypothesis.stateful import RuleBasedStateMachine

from .messages import Counts
from .probe import SpecProbe
from .seams import RULE_PREFIX, example_events

__all__ = ["Stopped", "Tally", "instrument"]


class Stopped(KeyboardInterrupt):
    """The campaign asked this worker to stop."""


class Tally:
    """Counts since the last flush; flushes to `send` at the end of an
    example at most every `every` seconds."""

    def __init__(
        self,
        send: Callable[[Counts], None],
        probe: SpecProbe | None = None,
        every: float = 0.25,
    ) -> None:
        self.send = send
        self.probe = probe
        self.every = every
        self.counts = Counts()
        self._rules: set[str] = set()
        self._flushed = time.monotonic()

    def begin(self) -> None:
        self._rules.clear()
        if self.probe is not None:
            self.probe.take()  # what ran outside the example is not its own

    def step(self, rule: str) -> None:
        self.counts.steps += 1
        self.counts.rule_steps[rule] += 1
        self._rules.add(rule)

    def end(self, events: Iterable[str]) -> None:
        counts = self.counts
        counts.examples += 1
        counts.rule_examples.update(self._rules)
        counts.events.update(set(events))
        if self.probe is not None:
            counts.spec.update(self.probe.take())
        if time.monotonic() - self._flushed >= self.every:
            self.flush()

    def flush(self) -> None:
        now = time.monotonic()
        self.counts.seconds = now - self._flushed
        self._flushed = now
        self.send(self.counts)
        self.counts = Counts()


def instrument(
    machine: type[RuleBasedStateMachine],
    tally: Tally,
    checkpoint: Callable[[], None],
) -> type[RuleBasedStateMachine]:
    class Fuzzed(machine):  # type: ignore[valid-type, misc]
        def __init__(self) -> None:
            checkpoint()
            super().__init__()
            # Rule times as of the last check (seams.py, 2); None before the
            # first, which comes before any step.
            self.__times: dict[str, float] | None = None
            tally.begin()

        def check_invariants(
            self,
            settings: Settings,
            output: Callable[[str], object],
            runtimes: dict[str, float],
        ) -> None:
            if self.__times is not None:
                grew = [
                    name
                    for name, spent in runtimes.items()
                    if name.startswith(RULE_PREFIX) and self.__times.get(name) != spent
                ]
                tally.step(grew[0][len(RULE_PREFIX) :] if grew else "?")
            self.__times = dict(runtimes)
            checkpoint()
            super().check_invariants(settings, output, runtimes)

        def teardown(self) -> None:
            try:
                super().teardown()
            finally:
                tally.end(example_events())

    for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(Fuzzed, attribute, getattr(machine, attribute))
    return Fuzzed
