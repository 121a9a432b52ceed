"""`Loop.snapshot()`: the loop's state as immutable values, in the orders the
spec gives (the view refloop.testing compares with the model)."""

from __future__ import annotations

import dataclasses
import socket

import pytest

import refloop
from refloop import CallView, JoinView, Loop, PostedView, Snapshot, TaskView


def test_a_snapshot_shows_every_place_a_task_can_be() -> None:
    clock = refloop.VirtualClock()
    loop = Loop(clock=clock)
    a, b = socket.socketpair()
    a.setblocking(False)

    async def reader() -> bytes:
        return await refloop.recv(a, 1)

    async def sleeper() -> None:
        await refloop.sleep(5)

    async def idler() -> None:
        await refloop.wait_idle()

    r = loop.spawn(reader(), name="reader")
    s = loop.spawn(sleeper(), name="sleeper")
    i = loop.spawn(idler(), name="idler")

    async def joiner() -> None:
        await s.join()

    j = loop.spawn(joiner(), name="joiner")
    loop.run_once(timeout=0)
    later = loop.call_later(9, print)
    loop.call_soon_threadsafe(print, "posted")
    fresh = loop.spawn(sleeper(), name="fresh")

    snap = loop.snapshot()
    assert isinstance(snap, Snapshot)
    assert [(v.tid, v.name, v.state) for v in snap.tasks] == [
        (0, "reader", "waiting"),
        (1, "sleeper", "waiting"),
        (2, "idler", "waiting"),
        (3, "joiner", "waiting"),
        (4, "fresh", "runnable"),
    ]
    assert snap.tasks[0] == TaskView(r, 0, "reader", "waiting", None)
    assert snap.run_queue == (fresh.tid,)
    assert snap.waiters == (refloop.Waiter(a, "read", r),)
    assert snap.joins == (JoinView(s.tid, j),)
    # Timers in firing order: the sleep (at 5) before call_later(9, ...).
    assert [(t.when, t.task) for t in snap.timers] == [(5.0, s), (9.0, None)]
    assert snap.timers[1] == CallView(later.when, later.seq, print, (), None, False)
    assert [(c.task, c.idle) for c in snap.idle] == [(i, True)]
    assert snap.posted == (PostedView(print, ("posted",)),)
    assert snap.in_threads == 0 and not snap.closed
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.run_queue = ()  # type: ignore[misc]
    loop.close()
    assert loop.snapshot().closed and loop.snapshot().tasks == ()
    a.close()
    b.close()


def test_a_finished_task_is_viewed_on_its_own_without_being_observed() -> None:
    reported: list[int] = []
    loop = Loop(report=lambda task: reported.append(task.tid))

    async def fail() -> None:
        raise ValueError("boom")

    task = loop.spawn(fail())
    view_before = TaskView.of(task)
    loop.run_once(timeout=0)
    assert reported == [task.tid]
    assert loop.snapshot().tasks == ()
    view = TaskView.of(task)
    assert view.state == "failed" and isinstance(view.exception, ValueError)
    assert view_before.state == "runnable" and view_before.exception is None
    loop.close()


@pytest.mark.parametrize(
    "part", ["observe.abstract", "SyncObjects.waiters", "SyncObjects.abstract"]
)
def test_the_harness_reads_nothing_private_of_the_loop(part: str) -> None:
    """Harness.abstract() (refloop.testing.observe.abstract) builds the
    model's view from snapshot() and public task state only (so any
    LoopUnderTest can be compared), and its part for the primitives from
    their public views (spec: sync.views)."""
    import ast
    import inspect
    import textwrap

    from refloop.testing import observe, sync_harness

    owner, method = part.split(".")
    scope = observe if owner == "observe" else getattr(sync_harness, owner)
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(scope, method))))
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.endswith("__")
        and not (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "harness")
        )
    ]
    assert private == [], private
