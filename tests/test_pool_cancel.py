"""run_in_thread under cancellation: the task ends at once, the job's later
outcome is dropped and counted out, and run()'s deadlock verdict does not
wait for an orphan (thread.run-cancel, thread.run.orphan, env.pool-finish);
model and loop side by side, and the broken loops that get it wrong."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import refloop
from refloop import Loop, LoopError, model
from refloop.model import EndMoveOnAfter, InThread, MoveOnAfter, Sleep, State
from refloop.testing.broken import BROKEN_LOOPS, POOL_BROKEN_LOOPS
from refloop.testing.compare import compare
from refloop.testing.harness import Harness

# A timeout scope that fires while its pool job runs, then a sleep: the
# job's post arrives while the task waits on its timer.
ABSORBED = (MoveOnAfter(0), InThread(), EndMoveOnAfter(), Sleep(5))


def _side_by_side(factory: type[Loop], program: tuple[object, ...]) -> list[str]:
    """Run `program` on the model and on a loop made by `factory`, cancel it
    while its job runs (by its timeout), finish the job, and run on: what
    differs after each step."""
    h = Harness(factory)
    s = model.initial(("A", "B"), ("L",), budget=3)
    problems: list[str] = []
    try:
        s, _ = model.spawn(s, program)  # type: ignore[arg-type]
        h.spawn(program)  # type: ignore[arg-type]

        def step(f: Callable[[State], State], g: Callable[[], object]) -> None:
            nonlocal s
            s = f(s)
            g()
            problems.extend(compare(s, h))

        def once(s: State) -> State:
            return model.run_once(s)[0]

        for _ in range(3):
            step(once, h.run_once)
        assert s.orphans == (0,), "the timeout must orphan the job"
        step(lambda s: model.pool_finish(s, 0), lambda: h.pool_finish(0))
        for _ in range(2):
            step(once, h.run_once)
    finally:
        h.dispose()
    return problems


@pytest.mark.spec("thread.run-cancel")
def test_a_cancelled_task_ends_at_once_and_its_outcome_is_dropped() -> None:
    go = threading.Event()
    seen: list[object] = []

    async def main() -> None:
        waiter = refloop.spawn(refloop.run_in_thread(lambda: go.wait() or "late"))
        await refloop.yield_now()
        assert waiter.cancel()
        await refloop.yield_now()
        seen.append(waiter.cancelled())
        go.set()
        await refloop.sleep(0.05)
        seen.append(waiter.cancelled())
        loop = refloop.current_loop()
        for _ in range(100):
            if loop.snapshot().in_threads == 0:
                break
            await refloop.sleep(0.01)
        seen.append(loop.snapshot().in_threads)

    refloop.run(main())
    assert seen == [True, True, 0]


@pytest.mark.spec("thread.run-cancel")
def test_the_dropped_post_does_not_wake_the_tasks_next_wait() -> None:
    assert _side_by_side(Loop, ABSORBED) == []


@pytest.mark.spec("thread.run-cancel")
def test_a_loop_that_resumes_the_task_with_an_orphans_outcome_is_caught() -> None:
    problems = _side_by_side(POOL_BROKEN_LOOPS["ResumingOrphanLoop"], ABSORBED)
    assert any("task 0 state" in p for p in problems), problems


@pytest.mark.spec("thread.run.orphan")
def test_a_loop_that_leaks_the_count_of_a_dropped_job_is_caught() -> None:
    problems = _side_by_side(BROKEN_LOOPS["UncountedDropLoop"], ABSORBED)
    assert any("calls in its pool" in p for p in problems), problems


def _deadlock_behind_an_orphan(factory: type[Loop]) -> bool:
    """Whether run() reported the deadlock before the orphan finished."""
    go = threading.Event()
    guard = threading.Timer(0.5, go.set)  # ends a loop that waits for it

    async def main() -> None:
        job = refloop.spawn(refloop.run_in_thread(go.wait))
        await refloop.yield_now()
        job.cancel()
        await refloop.yield_now()
        await refloop.suspend(lambda k: None)  # nobody can resume main

    loop = factory()
    guard.start()
    try:
        with pytest.raises(LoopError, match="deadlock"):
            loop.run(main())
        return not go.is_set()
    finally:
        guard.cancel()
        go.set()
        loop.close()


@pytest.mark.spec("thread.run.orphan")
@pytest.mark.spec("loop.run.deadlock")
def test_run_reports_a_deadlock_behind_an_orphan() -> None:
    assert _deadlock_behind_an_orphan(Loop)


@pytest.mark.spec("thread.run.orphan")
def test_a_loop_that_waits_for_an_orphan_is_caught() -> None:
    assert not _deadlock_behind_an_orphan(POOL_BROKEN_LOOPS["OrphanKeepsRunLoop"])


@pytest.mark.spec("thread.run.orphan")
def test_the_model_counts_a_job_waited_for_but_not_an_orphan() -> None:
    s = model.initial()
    s, _ = model.spawn(s, (InThread(),))
    s, _ = model.run_once(s)
    assert s.waiters == (model.Waiter(model.POOL, 0, 0),) and s.jobs == 1
    assert not model.deadlocked(s)  # the job can still resume task 0
    s = model.cancel(s, 0)
    assert s.orphans == (0,) and not s.waiters
    s, _ = model.run_once(s)
    assert s.tasks[0].error == "Cancelled"
    # Two tasks that join each other, behind the orphan: a deadlock.
    s, _ = model.spawn(s, (model.YieldNow(), model.Join(2)))
    s, _ = model.spawn(s, (model.Join(1),))
    s, _ = model.run_once(s)
    s, _ = model.run_once(s)
    assert {w.kind for w in s.waiters} == {model.JOIN} and s.orphans == (0,)
    assert model.deadlocked(s)


@pytest.mark.spec("env.pool-finish")
def test_pool_finish_resumes_the_task_or_drops_an_orphans_post() -> None:
    s = model.initial()
    s, _ = model.spawn(s, (InThread(),))
    s, _ = model.spawn(s, (InThread(),))
    s, _ = model.run_once(s)
    s = model.cancel(s, 1)
    s = model.pool_finish(s, 0)
    assert s.posted == (0,)
    s = model.pool_finish(s, 1)
    assert s.orphans == () and s.calls == (model.Callback(model.DROP, 1),)
    assert s.posted == (0, ~0)
    s, _ = model.run_once(s)
    assert s.tasks[0].state == model.DONE and s.called == ()
    with pytest.raises(model.ModelError):
        model.pool_finish(s, 1)


@pytest.mark.spec("env.pool-finish")
def test_pool_finish_on_the_real_loop_agrees_with_the_model() -> None:
    h = Harness()
    s = model.initial(("A", "B"), ("L",), budget=3)
    try:
        for _ in range(2):
            s, _ = model.spawn(s, (InThread(),))
            h.spawn((InThread(),))
        s, _ = model.run_once(s)
        h.run_once()
        s = model.cancel(s, 1)
        h.cancel(1)
        assert compare(s, h) == []
        for job in (1, 0):
            s = model.pool_finish(s, job)
            h.pool_finish(job)
            assert compare(s, h) == []
        s, _ = model.run_once(s)
        h.run_once()
        assert compare(s, h) == [] and s.tasks[0].state == model.DONE
    finally:
        h.dispose()
