"""Timer bookkeeping after the heap is rebuilt (spec: timer.cancel.memory):
the stateful machine's `churn_timers` rule, beside the model, which does not
change."""

from __future__ import annotations

import pytest

from refloop.model import EndMoveOnAfter, MoveOnAfter, Recv, Sleep
from refloop.testing import LoopMachine, machine_for
from refloop.testing.broken import BROKEN_LOOPS


@pytest.mark.spec("timer.cancel.memory", "timer.order")
def test_timers_tied_with_a_churn_fire_in_order_after_the_rebuild() -> None:
    state = LoopMachine()
    try:
        state.start(programs=[(Sleep(1),), (Sleep(1),), (Sleep(2),)])
        for act in (
            state.run_once,
            lambda: state.churn_timers(1),
            lambda: state.churn_timers(2),
            lambda: state.advance(1),
            state.run_once,
            lambda: state.advance(1),
            state.run_once,
        ):
            act()
            state.agrees()
        assert [t.state for t in state.model.tasks] == ["done"] * 3
        timers = state.real.loop._timers
        # Rebuilt: what is left of the second churn is far fewer entries
        # than the 140 timers made.
        assert len(timers.heap) < 70
    finally:
        state.teardown()


@pytest.mark.spec("timer.cancel.memory", "cancel.scope.timeout")
def test_a_negative_timeout_scope_fires_at_once_after_a_churn() -> None:
    state = LoopMachine()
    try:
        program = (MoveOnAfter(-1), Recv("A", 1), EndMoveOnAfter())
        state.start(programs=[program])
        for act in (lambda: state.churn_timers(0), state.run_once, state.run_once):
            act()
            state.agrees()
        assert state.model.tasks[0].log == (("timeout", True),)
    finally:
        state.teardown()


@pytest.mark.spec("timer.cancel.memory", "loop.run.deadlock")
def test_a_stale_count_after_the_rebuild_is_caught() -> None:
    """StaleCountTimersLoop's defect, in the two steps its hunt shrinks to."""
    from refloop.model import YieldNow
    from refloop.testing import Mismatch

    state = machine_for(BROKEN_LOOPS["StaleCountTimersLoop"])()
    try:
        state.start(programs=[(YieldNow(),)])
        state.churn_timers(1)
        state.agrees()
        with pytest.raises(Mismatch, match="run events"):
            state.run((Sleep(1),))
    finally:
        state.real.close()
