"""The model's synchronisation transitions (refloop/model/sync.py), on
small programs."""

from __future__ import annotations

import pytest

from refloop import model
from refloop.model import (
    Acquire,
    ChanClose,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    State,
    WaitEvent,
    YieldNow,
)


def _world(*programs: tuple[object, ...], capacity: int = 1) -> State:
    s = model.declare_channel(model.initial(), "C", capacity)
    for program in programs:
        s, _ = model.spawn(s, program)  # type: ignore[arg-type]
    return s


def _settle(s: State, n: int = 10) -> State:
    for _ in range(n):
        s, _ = model.run_once(s)
        assert not model.violated(s), model.violated(s)
    return s


@pytest.mark.spec("sync.lock.handoff", "sync.lock.acquire", "inv.sync-queues")
def test_the_model_hands_the_lock_over_in_order() -> None:
    user = (Acquire("M"), YieldNow(), Release("M"))
    s = _world(user, user, user)
    s, _ = model.run_once(s)
    assert model.owner(s, "M") == 0
    assert [(w.kind, w.tid) for w in s.waiters] == [("lock", 1), ("lock", 2)]
    s, _ = model.run_once(s)  # 0 releases: 1 owns it before it runs
    assert model.owner(s, "M") == 1 and s.run_queue == (1,)
    s = _settle(s)
    assert model.owner(s, "M") is None
    assert all(t.state == model.DONE for t in s.tasks)


@pytest.mark.spec("sync.lock.owner")
def test_the_model_refuses_a_release_by_another_task() -> None:
    s = _settle(_world((Acquire("M"), YieldNow(), YieldNow()), (Release("M"),)))
    assert s.tasks[1].error == "LoopError"


@pytest.mark.spec("sync.event.set", "sync.event.wait")
def test_the_model_wakes_every_event_waiter_and_a_late_one_passes() -> None:
    s = _world((WaitEvent("E"),), (WaitEvent("E"),), (SetEvent("E"), WaitEvent("E")))
    s = _settle(s)
    assert all(t.state == model.DONE for t in s.tasks)


@pytest.mark.spec("chan.cancel", "chan.send.handoff")
def test_a_model_receiver_cancelled_after_the_handoff_logs_its_item() -> None:
    s = _world((ChanRecv("C"), YieldNow()), (ChanSend("C", 7),))
    s, _ = model.run_once(s)
    assert s.handed == ((0, 7),) and s.tasks[0].state == model.RUNNABLE
    s = model.cancel(s, 0)
    s = _settle(s)
    assert s.tasks[0].log == (7,) and s.tasks[0].error == "Cancelled"


@pytest.mark.spec("chan.close", "chan.recv", "chan.send.closed")
def test_the_model_drains_then_ends_and_fails_waiting_senders() -> None:
    s = _world(
        (ChanSend("C", 1), ChanSend("C", 2)),
        (YieldNow(), ChanClose("C"), ChanRecv("C"), ChanRecv("C"), ChanRecv("C")),
    )
    s = _settle(s)
    assert s.tasks[0].error == "ChannelClosed"
    assert s.tasks[1].log == (1, "end", "end")
