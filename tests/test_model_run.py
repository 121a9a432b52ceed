"""The model's run(main) and its deadlock verdict (loop.run.deadlock): one
definition, used by run and by the stateful machine's run rule."""

from __future__ import annotations

import pytest

from refloop import model
from refloop.model import AwaitThread, Join, Recv, Sleep, YieldNow


@pytest.mark.spec("loop.run")
def test_run_returns_when_main_finishes() -> None:
    s, events, outcome = model.run(model.initial(("A",)), (YieldNow(),))
    assert outcome == "done" and s.tasks[0].state == model.DONE
    assert events[0] == model.event.Spawn(0)


@pytest.mark.spec("loop.run.deadlock")
def test_main_joining_a_task_that_never_resumes_is_a_deadlock() -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (Join(1),))
    s, _, outcome = model.run(s, (Join(0),))
    assert outcome == "deadlock" and model.deadlocked(s)


@pytest.mark.spec("loop.run.deadlock")
@pytest.mark.parametrize(
    "program", [(AwaitThread(),), (Recv("A", 1),), (Sleep(5),)], ids=str
)
def test_a_task_the_environment_can_resume_is_no_deadlock(
    program: model.Program,
) -> None:
    s, events, outcome = model.run(model.initial(("A",)), program)
    assert outcome == "blocks" and not model.deadlocked(s)
    assert isinstance(events[-1], model.event.Poll)


@pytest.mark.spec("task.fail.report")
def test_mains_failure_is_raised_by_run_not_reported() -> None:
    s, _, outcome = model.run(model.initial(("A",)), (Recv("Z", 1),))
    assert outcome == "UnknownSocket" and s.reported == ()


def test_finished_tasks_are_no_deadlock() -> None:
    s, _, _ = model.run(model.initial(), (YieldNow(),))
    assert not model.deadlocked(s)
