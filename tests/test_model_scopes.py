"""The model's cancel scopes (spec/09-cancel.md, refloop/model/cancelling.py):
the corners the stateful test reaches slowly, pinned, and one run of the
native machine through them against the real loop."""

from __future__ import annotations

import math

import pytest

from refloop import model
from refloop.model import (
    CancelScopes,
    EndCancelScope,
    EndMoveOnAfter,
    MoveOnAfter,
    OpenCancelScope,
    Sleep,
    State,
    YieldNow,
)
from refloop.model.queries import well_formed
from refloop.testing import SyncLoopMachine


def started(*programs: tuple[model.Op, ...]) -> State:
    s = model.initial(())
    for program in programs:
        s, _ = model.spawn(s, program)
    s, _ = model.run_once(s)
    assert well_formed(s)
    return s


SHIELDED = (OpenCancelScope(True), Sleep(math.inf), EndCancelScope(), YieldNow())


@pytest.mark.spec("cancel.shield")
def test_a_shield_holds_a_plain_cancel_of_a_waiting_task() -> None:
    s = model.cancel(started(SHIELDED), 0)
    t = s.tasks[0]
    assert (t.state, t.held, s.run_queue) == ("waiting", ((0, -1),), ())
    assert s.timers  # its sleep is still registered
    assert well_formed(s)


@pytest.mark.spec("cancel.shield", "cancel.scope.cancel")
def test_a_request_for_the_shield_itself_or_inside_it_is_delivered() -> None:
    program = (
        OpenCancelScope(True),
        OpenCancelScope(),
        Sleep(math.inf),
        EndCancelScope(),
        EndCancelScope(),
    )
    for scope, log in (
        (1, (("scope", True), ("scope", False))),
        (0, (("scope", True),)),
    ):
        s = model.cancel(started(program), 0, scope)
        assert s.tasks[0].held == () and s.run_queue == (0,)
        s, _ = model.run_once(s)
        assert (s.tasks[0].state, s.tasks[0].log) == ("done", log)


@pytest.mark.spec("cancel.shield.merge", "cancel.merge")
def test_a_shield_keeps_the_widest_request() -> None:
    program = (
        OpenCancelScope(),
        OpenCancelScope(),
        OpenCancelScope(True),
        Sleep(math.inf),
        EndCancelScope(),
        EndCancelScope(),
        EndCancelScope(),
    )
    s = started(program)
    s = model.cancel(s, 0, 1)
    assert s.tasks[0].held == ((2, 1),)
    s = model.cancel(s, 0, 0)  # wider: kept
    assert s.tasks[0].held == ((2, 0),)
    s = model.cancel(s, 0, 1)  # narrower: merged away
    assert s.tasks[0].held == ((2, 0),)
    s = model.cancel(s, 0)  # plain: widest
    assert s.tasks[0].held == ((2, -1),)


@pytest.mark.spec("cancel.shield.exit")
def test_the_held_request_is_made_again_when_the_shield_is_left() -> None:
    program = (
        OpenCancelScope(),
        OpenCancelScope(True),
        Sleep(1),
        EndCancelScope(),
        YieldNow(),
        EndCancelScope(),
        Sleep(5),
    )
    s = model.cancel(started(program), 0, 0)
    s, _ = model.run_once(model.advance(s, 1))
    t = s.tasks[0]
    # The shield's end made the outer scope's request again; the yield
    # raised it, and the outer scope absorbed it: on to the last sleep.
    assert t.log == (("scope", False), ("scope", True))
    assert (t.state, t.pc, t.held) == ("waiting", 7, ())


@pytest.mark.spec("cancel.shield.exit", "cancel.scope.nested")
def test_a_shield_unwound_by_its_own_cancel_releases_what_it_held() -> None:
    program = (
        OpenCancelScope(True),
        Sleep(math.inf),
        EndCancelScope(),
        Sleep(5),
    )
    s = model.cancel(started(program), 0)  # held
    s = model.cancel(s, 0, 0)  # the shield's own: delivered
    s, _ = model.run_once(s)
    t = s.tasks[0]
    # The plain request came back when the shield was left, and the sleep
    # after it raised it: the task ends cancelled.
    assert (t.state, t.error, t.log) == ("failed", "Cancelled", (("scope", True),))


@pytest.mark.spec("cancel.shield")
def test_entering_a_shield_takes_the_pending_request() -> None:
    s = started((YieldNow(), OpenCancelScope(True), Sleep(1), EndCancelScope()))
    s = model.cancel(s, 0)
    assert s.tasks[0].cancelling
    s, _ = model.run_once(s)
    t = s.tasks[0]
    assert (t.state, t.cancelling, t.held) == ("waiting", False, ((1, -1),))


@pytest.mark.spec("cancel.scope.cancel", "cancel.scope.group-cancel")
def test_cancel_scopes_cancels_open_scopes_and_passes_over_the_rest() -> None:
    worker = (OpenCancelScope(), Sleep(math.inf), EndCancelScope(), Sleep(math.inf))
    s = started(worker, worker)
    canceller = (CancelScopes(((0, 0), (1, 2), (7, 0))), YieldNow())
    s, tid = model.spawn(s, canceller)
    s, _ = model.run_once(s)
    assert s.run_queue == (0, tid)
    assert s.tasks[1].state == "waiting" and s.tasks[1].throw is None
    s, _ = model.run_once(s)
    assert s.tasks[0].log == (("scope", True),) and s.tasks[0].state == "waiting"


@pytest.mark.spec("cancel.shield", "cancel.scope.timeout")
def test_a_timeout_outside_a_shield_fires_into_it_later() -> None:
    program = (
        MoveOnAfter(1),
        OpenCancelScope(True),
        Sleep(2),
        EndCancelScope(),
        Sleep(math.inf),
        EndMoveOnAfter(),
    )
    s, _ = model.run_once(model.advance(started(program), 1))
    assert s.tasks[0].held == ((1, 0),) and s.tasks[0].state == "waiting"
    s, _ = model.run_once(model.advance(s, 1))
    t = s.tasks[0]
    assert t.log == (("scope", False), ("timeout", True)) and t.state == "done"


@pytest.mark.spec("cancel.shield", "cancel.shield.exit", "cancel.scope.cancel")
def test_the_native_machine_replays_a_shield_against_the_real_loop() -> None:
    state = SyncLoopMachine()
    try:
        state.start(programs=[SHIELDED])
        state.spawn(
            (
                OpenCancelScope(),
                OpenCancelScope(True),
                Sleep(2),
                EndCancelScope(),
                Sleep(5),
                EndCancelScope(),
                YieldNow(),
            )
        )
        for act in (
            state.run_once,
            lambda: state.cancel(0),
            lambda: state.cancel_scope(pick=1, plain=False),
            lambda: state.advance(2),
            state.run_once,
            state.run_once,
        ):
            act()
            state.agrees()
        assert state.model.tasks[1].log == (("scope", False), ("scope", True))
        assert state.model.tasks[0].held == ((0, -1),)
    finally:
        state.teardown()
