"""One dispatch per kind of thing, and one name per thing: the model's
operations, actions and events are closed unions that every tool handles,
and the names the spec gives them are the names the code uses."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import find, settings
from hypothesis import strategies as st

import refloop
from refloop import model
from refloop.check.search.tables import state_key
from refloop.model import (
    STATE_KEY,
    TASK_FIXED,
    TASK_KEY,
    TRACED,
    Action,
    Event,
    Op,
    State,
    Task,
    event,
)
from refloop.model.actions import Close
from refloop.model.events import __doc__ as EVENTS_DOC
from refloop.testing.strategies import cleanup_programs, programs, scope_programs


def test_step_refuses_what_is_not_an_action() -> None:
    s = model.initial(("A",))
    with pytest.raises(TypeError, match=r"'A' is not a model action.*PeerConnect"):
        model.step(s, "A")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not a model action"):
        model.step(s, model.YieldNow())  # type: ignore[arg-type]


def test_every_action_is_stepped() -> None:
    """No action falls through to another's transition (step once sent
    anything it did not know to peer_connect)."""
    s = model.initial(("A",), ("L",))
    s, _ = model.spawn(s, (model.AwaitThread(),))
    s, _ = model.spawn(s, (model.InThread(),))
    s, _ = model.run_once(s)
    examples: dict[type, Action] = {
        model.Spawn: model.Spawn((model.YieldNow(),)),
        model.RunOnce: model.RunOnce(),
        model.Cancel: model.Cancel(0),
        model.PeerSend: model.PeerSend("A", b"x"),
        model.PeerClose: model.PeerClose("A"),
        model.PeerRecv: model.PeerRecv("A", 1),
        model.PeerConnect: model.PeerConnect("L"),
        model.Advance: model.Advance(1),
        model.ThreadPost: model.ThreadPost(0),
        model.PoolFinish: model.PoolFinish(0),
        model.CallLater: model.CallLater(1, model.Callback("ok")),
        model.ForeignCall: model.ForeignCall("cancel", 0),
        model.CallWhenIdle: model.CallWhenIdle(model.Callback("ok")),
        model.ThreadCall: model.ThreadCall(model.Callback("ok")),
        model.Run: model.Run((model.YieldNow(),)),
        model.RunForever: model.RunForever(),
        model.Stop: model.Stop(),
        model.Shutdown: model.Shutdown(0),
        Close: Close(),
        model.InjectFault: model.InjectFault("A", model.Fault("recv", "EINTR")),
    }
    assert set(examples) == set(get_args(Action))
    # run_forever from s would block as run_once does: from a stop request
    # with a task to run, it runs one iteration.
    start = {model.RunForever: model.spawn(model.stop(s), (model.YieldNow(),))[0]}
    results = {kind: model.step(start.get(kind, s), a) for kind, a in examples.items()}
    assert len({repr(r) for r in results.values()}) == len(results)
    assert results[model.PeerConnect][0].sockets != s.sockets
    assert results[model.Spawn][1] == (event.Spawn(2),)


def test_events_catalogue_is_complete() -> None:
    """Every kind of event is in the union, in TRACED if the loop's trace
    reports it, and named in the module's catalogue; every name the loop's
    trace uses has a kind."""
    kinds = set(get_args(Event))
    assert {k.name for k in kinds} == {
        "spawn",
        "poll",
        "wake",
        "fire",
        "idle",
        "run",
        "report",
        "peer_recv",
    }
    for kind in kinds:
        assert f"`event.{kind.__name__}(" in (EVENTS_DOC or "")
    assert set(TRACED.values()) == kinds - {event.Poll, event.PeerRecv}
    for name, kind in TRACED.items():
        assert kind.name == name


def test_the_real_trace_names_are_the_models() -> None:
    """What the loop's trace callback reports, the harness can turn into a
    model event (an unknown name would be a KeyError in Harness._on_trace)."""
    seen: set[str] = set()

    async def main() -> None:
        await refloop.yield_now()
        await refloop.sleep(0)
        await refloop.wait_idle()

    loop = refloop.Loop(trace=lambda name, task: seen.add(name))
    try:
        loop.run(main())
    finally:
        loop.close()
    assert seen <= set(TRACED)
    assert {"spawn", "run", "fire", "idle"} <= seen


def test_events_print_as_pasteable_python() -> None:
    for e in (
        event.Poll(None),
        event.Poll(0),
        event.Run(2),
        event.PeerRecv("A", b"x"),
    ):
        assert eval(repr(e), {"event": event}) == e
    assert repr(event.Run(2)) == "event.Run(2)"
    assert event.Run(1) != event.Wake(1)


@pytest.mark.parametrize("kind", get_args(Op), ids=lambda k: k.__name__)
def test_programs_draw_every_operation(kind: type) -> None:
    """Strategies build operations rather than dispatch on them, so mypy
    cannot tell that a new operation is missing there: this does. The
    cancel scopes' operations are drawn by the native machine's
    scope_programs, which the hunts of broken loops leave out, and OnClose
    by cleanup_programs (the spawn_cleanup rule)."""
    found = find(
        st.one_of(programs(), scope_programs(), cleanup_programs()),
        lambda p: any(isinstance(op, kind) for op in p),
        settings=settings(max_examples=2000, database=None),
    )
    assert any(isinstance(op, kind) for op in found)


def test_task_key_names_every_field() -> None:
    """A field added to Task must be listed in TASK_KEY (or TASK_FIXED, if
    spawn sets it once), or the checker would merge states that differ."""
    assert Task._fields == TASK_FIXED + TASK_KEY


def test_state_key_names_every_field() -> None:
    assert ("tasks", *STATE_KEY) == State._fields


def test_state_key_tells_states_apart_by_every_key_field() -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (model.Recv("A", 1),))
    t = s.tasks[0]
    changed = {
        "pc": 1,
        "state": model.WAITING,
        "offset": 1,
        "streak": 1,
        "log": (b"x",),
        "throw": "ClosedError",
        "error": "ClosedError",
        "cancelling": True,
        "cancel_scope": 0,
        "throw_scope": 0,
        "scopes": (0,),
        "fired": (0,),
        "held": ((0, -1),),
    }
    assert set(changed) == set(TASK_KEY)
    for name, value in changed.items():
        other = s._replace(tasks=(t._replace(**{name: value}),))
        assert state_key(other) != state_key(s), name
    assert state_key(s._replace(now=1)) != state_key(s)
