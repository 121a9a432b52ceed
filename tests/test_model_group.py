"""The model of a task group (refloop/model/group.py), on the programs the
spec's rules describe."""

from __future__ import annotations

import pytest

from refloop.model import group as m


def _run(g: m.Group, *orders: m.Order) -> m.Group:
    return m.settle(m.deliver(g, orders))


def _with_children(*stubborn: bool) -> m.Group:
    g = m.start()
    for s in stubborn:
        g = _run(g, m.Do(m.OWNER, m.SPAWN_STUBBORN if s else m.SPAWN))
    return g


@pytest.mark.spec("cancel.scope.group")
def test_an_owner_cancelled_while_it_waits_raises_once_its_children_ended() -> None:
    g = _run(_with_children(True, False), m.Do(m.OWNER, m.END))
    assert (g.owner.phase, g.owner.joining) == (m.EXIT, 0)
    g = _run(g, m.CancelTask(m.OWNER))
    # Passed on: the plain child ends, the stubborn one caught it and waits.
    assert [c.outcome for c in g.children] == [None, m.CANCELLED]
    assert g.children[0].log == ("caught",)
    assert g.owner.log == (m.OK, m.OK)  # the two spawns; still waiting
    g = _run(g, m.Do(0, m.FINISH))
    assert g.owner.log[-1] == m.CANCELLED
    assert g.exited and g.run_queue == ()


@pytest.mark.spec("cancel.scope.group")
def test_a_failed_block_comes_after_the_children_that_failed() -> None:
    g = _run(_with_children(True), m.Do(m.OWNER, m.FAIL))
    g = _run(g, m.Do(0, m.FAIL))  # it caught the group's cancel, then fails
    assert g.owner.log[-1] == "group:0,block"


@pytest.mark.spec("cancel.scope.group")
def test_a_block_that_fails_alone_raises_its_own() -> None:
    g = _run(_with_children(False), m.Do(m.OWNER, m.FAIL))
    assert (g.owner.log[-1], g.children[0].outcome) == (m.BOOM, m.CANCELLED)


@pytest.mark.spec("cancel.scope.group-cancel", "cancel.scope.group-spawn")
def test_cancel_is_absorbed_and_a_later_child_is_cancelled_at_once() -> None:
    g = _run(_with_children(True), m.GroupCancel())
    assert g.owner.phase == m.EXIT and g.cancel_called
    g = _run(g, m.Spawn())  # while the exit waits: cancelled at once
    assert g.children[1].outcome == m.CANCELLED
    g = _run(g, m.Do(0, m.FINISH))
    assert g.owner.log[-1] == m.OK
    g = _run(g, m.Spawn())
    assert g.outside_log == (m.OK, m.REFUSED)  # refused after the exit
    assert len(g.children) == 2


@pytest.mark.spec("cancel.runnable", "cancel.merge")
def test_a_cancel_after_the_last_child_ended_comes_at_the_next_suspension() -> None:
    g = _run(_with_children(False, False), m.Do(m.OWNER, m.END))
    # Child 0 finishes and wakes the owner; child 1, cancelled by the group,
    # cancels the owner before the owner runs, then ends: the group exits
    # normally, and the owner's request waits for its next suspension.
    g = _run(g, m.Do(0, m.FINISH), m.Do(1, m.OWNER_CANCEL), m.GroupCancel())
    assert [c.outcome for c in g.children] == [m.OK, m.CANCELLED]
    assert g.owner.log[-2:] == (m.OK, m.IDLE_CANCELLED)


@pytest.mark.spec("cancel.scope.group")
def test_a_child_failing_cancels_the_block_with_the_groups_own() -> None:
    g = _run(_with_children(False, False), m.Do(0, m.FAIL))
    assert g.owner.log[-1] == "group:0"
    assert [c.outcome for c in g.children] == [m.BOOM, m.CANCELLED]
    g = _run(g, m.Do(m.OWNER, m.AGAIN))
    assert (g.owner.phase, g.children, len(g.past)) == (m.BLOCK, (), 2)


@pytest.mark.spec("cancel.scope.group-interrupt")
def test_an_interrupt_is_raised_alone_whatever_failed_beside_it() -> None:
    g = _run(_with_children(True, False), m.Do(1, m.FAIL))
    # The stubborn child caught the group's cancel; it is interrupted next.
    g = _run(g, m.Do(0, m.INTERRUPT))
    assert [c.outcome for c in g.children] == [m.INTERRUPTED, m.BOOM]
    assert g.owner.log[-1] == m.INTERRUPTED and g.escaped == 1
    g = _run(g, m.Do(m.OWNER, m.AGAIN))  # a new group keeps the count
    assert g.escaped == 1 and g.interrupt is None


@pytest.mark.spec("cancel.scope.group-interrupt")
def test_the_block_s_interrupt_waits_for_the_children_and_stays_first() -> None:
    g = _run(_with_children(True), m.Do(m.OWNER, m.INTERRUPT))
    assert g.owner.phase == m.EXIT and g.children[0].log == ("caught",)
    g = _run(g, m.Do(0, m.INTERRUPT))  # the first stays the block's
    assert (g.interrupt, g.owner.log[-1], g.escaped) == ("block", m.INTERRUPTED, 1)
