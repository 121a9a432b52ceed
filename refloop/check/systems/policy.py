"""Loop policies as the checker steps them: one task run at a time.

The model's `run_once` is one atomic iteration; the environment in the
model acts only between iterations. A real peer acts whenever it likes, so
the checker splits an iteration into the steps the loop takes one after
another, and lets the environment act between any two of them:

- `begin`: everything `run_once` does before its drain (the model's
  function of that name): the poll, the wakeups of the ready waiters,
  oldest registration first, the firing of due timers;
- `run_next`: one task of the drain.

`REFLOOP` is the model's policy: after a poll, run exactly the tasks queued
when the drain began (the phase counts them down); `run_once` is `begin`
followed by that many `run_next` (fewer when a callback's BaseException or
a task's KeyboardInterrupt ends the iteration), and a test checks the two
agree. `SEED`
is the seed's policy: run tasks while the queue is not empty, and poll only
when it is (GreedyLoop in refloop.testing.broken is its real twin).
"""

from __future__ import annotations

from ...model import Event, State, begin, run_next
from ...model.handlers import interrupted, interrupts

__all__ = ["POLICIES", "REFLOOP", "SEED", "Policy"]


class Policy:
    """How the loop takes its next step; `step` is a function of its inputs."""

    name = "refloop"
    doc = "poll, then run the tasks queued when the drain began (refloop)"

    # spec: prop.interleaving
    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if phase == 0:
            before = s
            s, events = begin(s)
            if interrupts(before, s) is not None:
                # spec: timer.callback-base-exception
                return s, 0, events  # a callback's BaseException ended it
            # spec: tick.ready-snapshot
            return s, len(s.run_queue), events
        tid = s.run_queue[0]
        s, events = run_next(s)
        if interrupted(s, tid):
            # spec: cont.handler-base-exception
            return s, 0, events  # the task's KeyboardInterrupt ended it
        return s, phase - 1, events


class Seed(Policy):
    name = "seed"
    doc = "run tasks until the queue is empty, then poll (the seed's drain)"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if s.run_queue:
            s, events = run_next(s)
            return s, 0, events
        s, events = begin(s)
        return s, 0, events


REFLOOP = Policy()
SEED = Seed()
POLICIES: dict[str, Policy] = {"refloop": REFLOOP, "seed": SEED}
