"""Cancellers and threads in the model checker (refloop.check.systems.actors): the
systems in models/cancel.py and models/threads.py get their verdicts (both
ways: tests/test_check.py runs every system with and without reductions),
broken policies for cancel and post are caught with short counterexamples,
and schedules with cancels and posts replay on the real loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from refloop.check import (
    NO_DEADLOCK,
    Canceller,
    Options,
    Poster,
    System,
    check,
    load,
)
from refloop.check.judge.liveness import path_to
from refloop.check.report.snippets import harness_snippet, model_snippet
from refloop.check.report.trace import follow, moves_of
from refloop.check.search.instances import finished
from refloop.model import (
    THREAD,
    WAITING,
    AwaitThread,
    Cancel,
    Recv,
    State,
    ThreadPost,
    Waiter,
    YieldNow,
    initial,
    spawn,
)

MODELS = Path(__file__).resolve().parent.parent / "models"
SYSTEMS = {
    s.name: s for name in ("cancel", "threads") for s in load(MODELS / f"{name}.py")
}


def _exec(snippet: str) -> dict[str, object]:
    names: dict[str, object] = {}
    exec(compile(snippet, "<snippet>", "exec"), names)
    return names


@pytest.mark.spec("cancel.waiting", "cancel.finished", "env.thread-post")
def test_the_processes_act_through_model_actions() -> None:
    s = initial(("A",))
    for program in ((AwaitThread(),), (Recv("A", 1),)):
        s, _ = spawn(s, program)
    canceller, poster = Canceller(1, limit=2), Poster((0,), limit=1)
    assert [m.actions for m in canceller.moves(s, 0)] == [(Cancel(1),)]
    assert canceller.moves(s, 2) == [] and canceller.facets(2) == frozenset()
    assert poster.moves(s, ()) == []  # task 0 has not handed over yet
    s = s._replace(waiters=(*s.waiters, Waiter(THREAD, 0, 0)))
    (move,) = poster.moves(s, ())
    assert move.actions == (ThreadPost(0),) and move.after == (0,)
    assert poster.moves(s, (0,)) == []


def test_a_process_may_not_name_a_symmetric_task() -> None:
    system = System(
        "named",
        tasks=((YieldNow(),), (YieldNow(),)),
        env=(Canceller(1),),
        symmetric=((0, 1),),
        liveness=(),
    )
    assert "cancel t1 names symmetric (0, 1)" in " ".join(system.problems())


@pytest.mark.spec("prop.reduce.macro")
@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_the_new_systems_are_small_and_reduced(name: str) -> None:
    system = SYSTEMS[name]
    reduced, full = check(system), check(system, Options(macro=False))
    assert reduced.as_expected and full.verdict == reduced.verdict
    assert reduced.states < full.states <= 200


@pytest.mark.spec("prop.invariants", "prop.counterexample", "prop.no-deadlock")
@pytest.mark.spec("cancel.waiting", "thread.no-lost-wakeup", "thread.post")
@pytest.mark.parametrize(
    ("name", "policy", "rule", "steps"),
    [
        ("cancel-recv", "leaky-cancel", "inv.waiter-live", 5),
        ("threads", "lost-post", NO_DEADLOCK, 6),
        ("threads", "lifo-posts", "threads.in-post-order", 11),
        ("cancel-scope-yield", "last-cancel-wins", NO_DEADLOCK, 6),
    ],
)
def test_broken_cancels_and_posts_are_caught(
    name: str, policy: str, rule: str, steps: int
) -> None:
    broken = check(SYSTEMS[name].variant(policy=policy))
    assert rule in broken.failures
    found = broken.failures[rule]
    stem = follow(broken.system, moves_of(found.stem))
    assert len(stem) <= steps
    _exec(model_snippet(broken.system, rule, found.text, stem, None))


@pytest.mark.spec("cancel.merge", "cancel.scope.nested", "prop.counterexample")
def test_the_lost_plain_cancel_is_found_under_the_old_rule_only() -> None:
    """What the checker found: under the old rule (the last request wins)
    the scope's own Cancelled replaces a plain one asked for first, and the
    task outlives its cancel; the counterexample cancels, then ticks the
    clock, and replays on the model. Under cancel.merge the system passes."""
    system = SYSTEMS["cancel-scope-yield"]
    assert check(system, Options(atomic=True)).verdict == "pass"
    broken = system.variant(policy="last-cancel-wins")
    result = check(broken, Options(atomic=True))
    stem = follow(broken, moves_of(result.failures[NO_DEADLOCK].stem))
    assert any(isinstance(a, Cancel) for s in stem for a in s.actions)
    end = _exec(model_snippet(broken, NO_DEADLOCK, "", stem, None))["s"]
    assert isinstance(end, State) and end.tasks[0].state == WAITING


@pytest.mark.spec("thread.post", "env.thread-post")
def test_posts_replay_on_the_real_loop() -> None:
    system = SYSTEMS["threads"]
    result = check(system, Options(atomic=True))
    ends = [i for i, w in enumerate(result.graph.worlds) if finished(w)]
    for i in ends[:3]:
        stem = follow(system, moves_of(path_to(result.graph, i)))
        snippet = harness_snippet(system, stem)
        assert snippet is not None and "h.thread_post(" in snippet
        _exec(snippet)


EVERY = [s for path in sorted(MODELS.glob("*.py")) for s in load(path)]


def _finals(system: System, macro: bool) -> set[object]:
    result = check(system, Options(macro=macro, symmetry=False))
    return {
        (w.state.tasks, w.state.sockets, w.state.reported, w.env)
        for w in result.graph.worlds
        if finished(w)
    }


@pytest.mark.spec("prop.reduce.macro")
@pytest.mark.parametrize("system", EVERY, ids=lambda s: s.name)
def test_macro_steps_keep_every_final_state(system: System) -> None:
    """Stronger than equal verdicts: without the facets for cancels and
    posts, the reduced search missed final states of cancel-recv,
    cancel-join and threads."""
    assert _finals(system, macro=True) == _finals(system, macro=False)
