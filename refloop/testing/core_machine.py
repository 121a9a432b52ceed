"""The stateful machine with its weight on the core's transitions, for the
stateful test's second pass (tests/test_stateful.py) and mutation testing
(docs/mutation.md).

Hypothesis draws a machine's rules uniformly. LoopMachine has sixteen, so
in a 50-step program the iteration itself (`run_once`) is drawn about three
times, and `cancel(tid)` mostly names a task that does not exist or has
finished: a defect that needs a task parked, cancelled, then an iteration
(a cancelled waiter left registered, issue #14) was seldom built. This
machine leaves out the rules that reach the edges of the loop rather than
its core (other threads' calls, run() with or without Ctrl-C, idle and
posted callbacks, close's cleanups, the pool's jobs: the full machine keeps
them) and adds two: another draw of `run_once`, and
`cancel_waiting`, which cancels a task the model says is parked.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from .. import model
from ..model import Op, Sleep
from .machine import LoopMachine
from .strategies import few_programs, programs

__all__ = ["CoreLoopMachine"]

# The program teardown spawns to make the loop poll once more.
LAST_POLL: tuple[Op, ...] = (Sleep(math.inf),)


def _not_a_rule(self: object, *args: object, **kwargs: object) -> None:
    """Takes a rule's place in the subclass, so Hypothesis no longer draws it."""


class CoreLoopMachine(LoopMachine):
    """LoopMachine weighted towards tasks, waiters, timers and the iteration."""

    foreign_call = _not_a_rule
    run = _not_a_rule
    call_when_idle = _not_a_rule
    thread_call = _not_a_rule
    # The edges added since (Ctrl-C in run(), close's cleanups, the thread
    # pool's jobs finishing): the full machine keeps them.
    run_interrupted = _not_a_rule
    spawn_cleanup = _not_a_rule
    pool_finish = _not_a_rule  # and programs() without jobs: below
    finish_orphan = _not_a_rule
    # The lifecycle's doors (stop, run_forever, shutdown, close) end or
    # cancel every parked task: drawn as often as the core's own rules, they
    # left few parked tasks to cancel.
    stop = _not_a_rule
    run_forever = _not_a_rule
    shutdown = _not_a_rule
    close = _not_a_rule

    @initialize(programs=few_programs(pool=False))
    def start(self, programs: list[tuple[Op, ...]]) -> None:
        LoopMachine.start(self, programs)

    @rule(program=programs(pool=False))
    def spawn(self, program: tuple[Op, ...]) -> None:
        """`spawn` of a program without run_in_thread jobs."""
        LoopMachine.spawn(self, program)

    @rule()
    def iterate(self) -> None:
        """`run_once` drawn once more: the iteration is the core's transition."""
        self.run_once()

    def _parked(self) -> list[int]:
        """The tasks the model has parked: on a socket, a join, a thread or
        a sleep's timer."""
        tids = {w.tid for w in self.model.waiters}
        tids |= {t.tid for t in self.model.timers if t.scope == -1}
        return sorted(tid for tid in tids if tid >= 0)

    def teardown(self) -> None:
        """One last poll, then the full machine's teardown. A registration
        left behind (a cancelled or woken waiter's) shows only at a poll
        (io.interest), and the loop polls only while something waits: a
        defect made by the example's last steps would go unseen. A task
        that sleeps for ever makes the iteration after the one that runs it
        poll."""
        if self.clean:
            self.model, tid = model.spawn(self.model, LAST_POLL)
            assert self.real.spawn(LAST_POLL) == tid
            for _ in range(2):  # one runs the task, the next polls
                self.run_once()
                self.agrees()
        super().teardown()

    @precondition(lambda self: bool(self._parked()))
    @rule(pick=st.integers(0, 7))
    def cancel_waiting(self, pick: int) -> None:
        """Cancel one of the parked tasks, chosen by `pick`."""
        parked = self._parked()
        self.cancel(parked[pick % len(parked)])
