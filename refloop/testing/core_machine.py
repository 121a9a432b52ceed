"""The stateful machine with its weight on the core's transitions, for the
stateful test's second pass (tests/test_stateful.py) and mutation testing
(docs/mutation.md).

Hypothesis draws a machine's rules uniformly. LoopMachine has sixteen, so
in a 50-step program the iteration itself (`run_once`) is drawn about three
times, and `cancel(tid)` mostly names a task that does not exist or has
finished: a defect that needs a task parked, cancelled, then an iteration
(a cancelled waiter left registered, issue #14) was seldom built. This
machine leaves out the rules that reach the edges of the loop rather than
its core (other threads' calls, run(), idle and posted callbacks: the full
machine keeps them) and adds two: another draw of `run_once`, and
`cancel_waiting`, which cancels a task the model says is parked.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from .machine import LoopMachine

__all__ = ["CoreLoopMachine"]


def _not_a_rule(self: object, *args: object, **kwargs: object) -> None:
    """Takes a rule's place in the subclass, so Hypothesis no longer draws it."""


class CoreLoopMachine(LoopMachine):
    """LoopMachine weighted towards tasks, waiters, timers and the iteration."""

    foreign_call = _not_a_rule
    run = _not_a_rule
    call_when_idle = _not_a_rule
    thread_call = _not_a_rule

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

    @precondition(lambda self: bool(self._parked()))
    @rule(pick=st.integers(0, 7))
    def cancel_waiting(self, pick: int) -> None:
        """Cancel one of the parked tasks, chosen by `pick`."""
        parked = self._parked()
        self.cancel(parked[pick % len(parked)])
