"""The real loop's state as the model's `State`, read from the loop's
`snapshot()` and the tasks' public state only (so any LoopUnderTest can be
compared; tests/test_snapshot.py checks that nothing private is read)."""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING

from .._snapshot import CallView, PostedView, TaskView
from ..model import Sock, State, Timer, Waiter
from ..model import Task as ModelTask
from .calls import ModelCallback, resume_unless_cancelled

if TYPE_CHECKING:
    from .harness import Harness

__all__ = ["abstract"]


def abstract(harness: Harness) -> State:
    """The real loop's state as a model State (bytes in flight are left
    out: the kernel holds them), read from `loop.snapshot()` and the tasks'
    public state only. The invariants apply to it unchanged."""
    snap = harness.loop.snapshot()
    live = {view.tid: view for view in snap.tasks}
    tasks = []
    for task, program, log in zip(
        harness.tasks, harness.programs, harness.logs, strict=True
    ):
        view = live.get(task.tid) or TaskView.of(task)
        error = None
        if view.state == "failed":
            error = type(view.exception).__name__
        tasks.append(
            ModelTask(
                task.tid,
                program,
                state=view.state,
                log=tuple(log),
                error=error,
                scopes=tuple(pc for pc, _ in harness.open_scopes.get(task.tid, [])),
            )
        )
    waiters = [
        Waiter(w.direction, harness.name_of(w.sock), w.task.tid) for w in snap.waiters
    ]
    waiters.extend(Waiter("join", j.tid, j.joiner.tid) for j in snap.joins)
    waiters.extend(Waiter("thread", 0, tid) for tid in harness.held)
    waiters.extend(harness.pool.waiters())
    waiters.extend(harness.sync.waiters())
    sockets = tuple(
        Sock(name, listener=name in harness.pending, closed=sock.fileno() < 0)
        for name, sock in harness.socks.items()
    )
    return State(
        tasks=tuple(tasks),
        run_queue=snap.run_queue,
        waiters=tuple(waiters),
        sockets=sockets,
        reported=tuple(harness.reported),
        budget=harness.budget,
        capacity=harness.capacity,
        now=int(harness.clock()),
        timers=tuple(
            Timer(
                t.when if math.isinf(t.when) else int(t.when),
                t.task.tid if t.task is not None else -1,
                harness.scopes.get(getattr(t.call, "__self__", None), -1),  # type: ignore[arg-type]
                t.call.n if isinstance(t.call, ModelCallback) else -1,
            )
            for t in snap.timers
        ),
        idle=tuple(n for n in map(_idle_entry, snap.idle) if n is not None),
        posted=tuple(
            entry
            for entry in map(partial(_posted, harness), snap.posted)
            if entry is not None
        ),
        **harness.sync.abstract(),
        called=tuple(harness.called),
        orphans=harness.pool.orphans(),
        closed=snap.closed,
    )


def view_problems(harness: Harness) -> list[str]:
    """What `loop.snapshot()` says wrongly of itself: a timer shown as an
    idle call or the other way round, or a task under another name than
    the one it was spawned with (the harness names its tasks t0, t1, ...)."""
    snap = harness.loop.snapshot()
    problems = [f"timer {v} is shown as an idle call" for v in snap.timers if v.idle]
    problems += [f"idle call {v} is shown as a timer" for v in snap.idle if not v.idle]
    names = zip(harness.tasks, harness.names, strict=True)
    spawned = {task.tid: name for task, name in names if name is not None}
    problems += [
        f"task {view.tid} is named {view.name!r}, spawned as {spawned[view.tid]!r}"
        for view in snap.tasks
        if spawned.get(view.tid, view.name) != view.name
    ]
    return problems


def _posted(harness: Harness, view: PostedView) -> int | None:
    """A posted call as the model names it: ~n for callback n (or for the
    dropped post of the orphaned job whose DROP is n), the task it resumes, or
    None for a post that resumes nothing (its task was cancelled since)."""
    if isinstance(view.call, ModelCallback):
        return ~view.call.n
    job = harness.pool.posted((view.call, view.args))
    if job is not None:
        if job.drop >= 0:
            return ~job.drop
        assert job.k is not None
        return None if job.k.resumed else job.k.task.tid
    if view.call is resume_unless_cancelled and not view.args[0].resumed:
        return int(view.args[0].task.tid)
    return None


def _idle_entry(view: CallView) -> int | None:
    """An idle call as the model names it: its task, or ~n for callback n."""
    if isinstance(view.call, ModelCallback):
        return ~view.call.n
    return view.task.tid if view.task is not None else None
