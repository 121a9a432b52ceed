"""The checker's prop.no-deadlock is the model's definition
(`refloop.model.deadlocked`, loop.run.deadlock), given what a closed
system's environment can still resume: not a definition of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from refloop import model
from refloop.check import NO_DEADLOCK, TERMINATES, System, check, load
from refloop.check.judge import liveness
from refloop.model import AwaitThread, Join, Recv, YieldNow

MODELS = Path(__file__).resolve().parent.parent / "models"
SYSTEMS = {s.name: s for path in MODELS.glob("*.py") for s in load(path)}


@pytest.mark.spec("prop.no-deadlock", "loop.run.deadlock")
def test_the_checker_asks_the_model_whether_a_state_is_a_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forgotten = SYSTEMS["lock-forgotten-release"]
    assert NO_DEADLOCK in check(forgotten).failures
    asked: list[model.State] = []

    def never(s: model.State, outside: object) -> bool:
        asked.append(s)
        return False

    monkeypatch.setattr(liveness, "model_deadlocked", never)
    assert NO_DEADLOCK not in check(forgotten).failures
    assert asked and all(not s.run_queue for s in asked)


@pytest.mark.spec("prop.no-deadlock")
@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_every_deadlock_found_is_the_models(name: str) -> None:
    """In each system, the states judged deadlocked are exactly those from
    which no task ever runs again, with a task unfinished, and the model's
    function holds in each once the environment resumes nothing."""
    result = check(SYSTEMS[name])
    g = result.graph
    dead = liveness.deadlocked(g)
    for i, is_dead in enumerate(dead):
        if is_dead:
            s = g.worlds[i].state
            assert model.deadlocked(s, lambda entry: False)
            assert not g.finished(i)
    assert (NO_DEADLOCK in result.failures) == any(dead)


@pytest.mark.spec("prop.no-deadlock", "loop.run.deadlock")
def test_an_environment_that_can_resume_the_waiter_is_no_deadlock() -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (Recv("A", 1),))
    s, _ = model.run_once(s)
    # run's open world: a peer may still send.
    assert not model.deadlocked(s)
    # A closed system without a peer: nothing will.
    stuck = check(System("stuck", tasks=((Recv("A", 1),),), streams=("A",)))
    assert NO_DEADLOCK in stuck.failures
    assert model.deadlocked(s, lambda entry: False)


@pytest.mark.spec("prop.no-deadlock", "prop.terminates", "thread.no-lost-wakeup")
def test_a_loop_that_leaves_a_posted_call_pending_hangs_and_is_no_deadlock() -> None:
    """lost-post leaves a posted continuation in the queue for ever: the
    program is not deadlocked (the loop has work), the loop hangs, and
    prop.terminates says so; the states before any post, from which no
    post will ever be taken, are deadlocks."""
    threads = SYSTEMS["threads"].variant(policy="lost-post")
    result = check(threads)
    assert {NO_DEADLOCK, TERMINATES} <= set(result.failures)
    g = result.graph
    dead = liveness.deadlocked(g)
    pending = [i for i, w in enumerate(g.worlds) if w.state.posted and w.phase == 0]
    assert pending and not any(dead[i] for i in pending)


@pytest.mark.spec("loop.run.deadlock")
def test_joins_and_held_continuations_in_the_open_world() -> None:
    s = model.initial()
    s, _ = model.spawn(s, (AwaitThread(),))
    s, _ = model.spawn(s, (Join(0),))
    s, _ = model.run_once(s)
    assert not model.deadlocked(s)  # the thread may post task 0 back
    # Once no thread will post it, the join on it can never end either.
    assert model.deadlocked(s, lambda entry: False)
    # A canceller (a closed system's environment) may resume the joiner.
    assert not model.deadlocked(
        s, lambda entry: isinstance(entry, model.Waiter) and entry.kind == model.JOIN
    )
    done = model.initial()
    done, _ = model.spawn(done, (YieldNow(),))
    done, _ = model.run_once(done)
    assert not model.deadlocked(done, lambda entry: False)
