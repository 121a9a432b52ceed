"""The model of a lock with its condition and a semaphore
(refloop/model/condition.py), on the programs the spec's rules describe."""

from __future__ import annotations

import pytest

from refloop.model import condition as m


def _run(g: m.Guard, *orders: m.Do | m.Cancel) -> m.Guard:
    return m.settle(m.deliver(g, orders))


@pytest.mark.spec("sync.cond.notified-wins")
def test_a_waiter_notified_then_cancelled_returns_and_sees_the_cancel_next() -> None:
    g = _run(m.start(3, 1, False), m.Do(0, m.ACQUIRE), m.Do(1, m.ACQUIRE))
    g = _run(g, m.Do(0, m.WAIT))  # 0 waits; the lock goes to 1
    assert (g.owner, g.cond_line) == (1, (0,))
    g = _run(g, m.Do(1, m.Notify(1)), m.Do(2, m.Cancel(0)))
    # 0 was woken, then cancelled before it ran: it returns holding the lock
    # once 1 releases it, and the cancellation comes at its next suspension.
    g = _run(g, m.Do(1, m.RELEASE))
    assert g.owner == 0
    assert g.actors[0].log == ("ok", "ok", m.IDLE_CANCELLED)  # acquire, wait


@pytest.mark.spec("sync.cond.wait", "sync.cancel-waiting")
def test_a_cancel_while_taking_the_lock_again_rejoins_the_line_at_its_end() -> None:
    g = _run(m.start(3, 1, False), m.Do(0, m.ACQUIRE), m.Do(1, m.ACQUIRE))
    g = _run(g, m.Do(0, m.WAIT), m.Do(2, m.ACQUIRE))
    g = _run(g, m.Do(1, m.Notify(1)))  # 0 wakes and waits for the lock
    assert g.lock_line == (2, 0)
    g = _run(g, m.Cancel(0))
    assert g.lock_line == (2, 0)  # left and came back, at the end
    g = _run(g, m.Do(1, m.RELEASE))
    assert g.owner == 2
    g = _run(g, m.Do(2, m.RELEASE))
    assert g.owner == 0
    assert g.actors[0].log == ("ok", "ok", m.IDLE_CANCELLED)  # acquire, wait


@pytest.mark.spec("sync.cond.wait")
def test_a_waiter_cancelled_while_it_waits_raises_holding_the_lock() -> None:
    g = _run(m.start(2, 1, False), m.Do(0, m.ACQUIRE))
    g = _run(g, m.Do(0, m.WAIT))
    assert g.owner is None
    g = _run(g, m.Cancel(0))
    assert g.owner == 0
    assert g.actors[0].log == ("ok", "Cancelled")


@pytest.mark.spec("sync.sem.handoff")
def test_a_released_unit_goes_to_the_oldest_waiter_not_to_whoever_runs_first() -> None:
    g = _run(m.start(3, 0, False), m.Do(0, m.SEM_ACQUIRE))
    assert g.sem_line == (0,)
    g = _run(g, m.Do(1, m.SEM_RELEASE), m.Do(2, m.SEM_ACQUIRE))
    assert (g.sem_value, g.sem_line) == (0, (2,))
    assert g.actors[0].log == ("ok",)


@pytest.mark.spec("sync.sem.bounded")
def test_a_bounded_semaphore_refuses_a_release_past_its_initial_value() -> None:
    g = _run(m.start(2, 1, True), m.Do(0, m.SEM_RELEASE))
    assert (g.actors[0].log, g.sem_value) == (("ValueError",), 1)
    g = _run(g, m.Do(0, m.SEM_ACQUIRE), m.Do(1, m.SEM_RELEASE))
    assert (g.actors[1].log, g.sem_value) == (("ok",), 1)


@pytest.mark.spec("sync.cond.hold", "sync.cond.notify", "sync.lock.owner")
def test_refusals_change_nothing() -> None:
    g = _run(m.start(2, 1, False), m.Do(0, m.ACQUIRE))
    after = _run(g, m.Do(1, m.WAIT))  # not the holder
    assert after.actors[1].log == ("LoopError",)
    after = _run(after, m.Do(0, m.Notify(-1)), m.Do(1, m.RELEASE))
    assert after.actors[0].log == ("ok", "ValueError")
    assert after.actors[1].log == ("LoopError", "LoopError")
    assert (after.owner, after.lock_line, after.cond_line) == (0, (), ())
