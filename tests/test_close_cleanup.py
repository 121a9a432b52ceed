"""`close()` with tasks whose cleanup misbehaves (spec: loop.close.raises):
an `OnClose` in a model program, model and real loop side by side through
the stateful machine's close rule."""

from __future__ import annotations

import pytest
from _helpers import machine

from refloop import model
from refloop.model import EndMoveOnAfter, MoveOnAfter, OnClose, Recv, Sleep, YieldNow
from refloop.testing import LoopMachine, Mismatch, machine_for
from refloop.testing.broken import BROKEN_LOOPS


def started(state: LoopMachine) -> None:
    state.run_once()
    state.agrees()


@pytest.mark.spec("loop.close.raises")
def test_close_logs_failing_cleanups_and_raises_the_first_interrupt_at_the_end() -> (
    None
):
    programs = [
        (OnClose("error"), Recv("A", 1)),
        (OnClose("interrupt"), Recv("B", 1)),
        (OnClose("await"), YieldNow(), Sleep(3)),
        (OnClose("interrupt"), Sleep(3)),
    ]
    with machine(*programs) as state:
        started(state)
        assert model.close_raises(state.model) == ("KeyboardInterrupt", 3)
        state.close()  # compares what close raised and logged
        assert state.reopened


@pytest.mark.spec("loop.close.raises")
def test_a_task_that_never_started_has_no_cleanup_and_a_finished_one_none_left() -> (
    None
):
    with machine((OnClose("interrupt"),), (OnClose("error"), Recv("A", 1))) as state:
        assert model.close_raises(state.model) == ("None", 0)  # none started
        started(state)
        assert state.model.tasks[0].state == model.DONE
        assert model.close_raises(state.model) == ("None", 1)
        state.close()


@pytest.mark.spec("loop.close.raises")
def test_a_cleanup_inside_a_block_is_ignored_by_model_and_harness() -> None:
    program = (MoveOnAfter(3), OnClose("interrupt"), Recv("A", 1), EndMoveOnAfter())
    with machine(program) as state:
        started(state)
        assert model.close_raises(state.model) == ("None", 0)
        state.close()


@pytest.mark.spec("loop.close.raises")
def test_the_close_rule_catches_a_loop_that_raises_the_interrupt_half_way() -> None:
    broken = machine_for(BROKEN_LOOPS["HalfClosedLoop"])
    with machine((OnClose("interrupt"), Recv("A", 1)), kind=broken) as state:
        started(state)
        with pytest.raises(Mismatch):
            state.close()
