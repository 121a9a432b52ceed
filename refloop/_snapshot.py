"""A loop's state at one moment, as immutable values (`Loop.snapshot()`).

A snapshot holds what the loop will do next and nothing of how it is
stored: the unfinished tasks, the run queue front first, the waiters oldest
registration first, the joins in join order, the timers in firing order,
the idle calls and the calls posted from other threads in the order they
will run. `refloop.testing` compares it with the model; anyone may print it.

Finished tasks are not in it: the loop lets go of a task once it finishes
(a loop that kept them would grow without bound). Their outcome stays on
the task: `TaskView.of(task)` views any task, finished or not. Failures the
loop reported went to its `report` callback when they happened: a report is
an event, not state.

The views hold the loop's own objects (tasks, sockets, callables); they are
frozen, but the objects they refer to are not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._task import Task
    from ._timers import TimerHandle, Timers
    from ._waiters import Waiter, Waiters

__all__ = ["CallView", "JoinView", "PostedView", "Snapshot", "TaskView"]


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task: its number, name and state ("runnable", "waiting", "done",
    "failed"), and for a failed task its exception."""

    task: Task[Any]
    tid: int
    name: str
    state: str
    exception: BaseException | None

    @classmethod
    def of(cls, task: Task[Any]) -> TaskView:
        """View `task` without observing its outcome (a failure viewed is
        still reported if nobody joins it)."""
        exception, _ = task._view()
        return cls(task, task.tid, task.name, task.state, exception)


@dataclass(frozen=True, slots=True)
class JoinView:
    """Task `joiner` waits for task `tid` to finish (spec: task.join)."""

    tid: int
    joiner: Task[Any]


@dataclass(frozen=True, slots=True)
class CallView:
    """A timer (`idle` False: it fires at `when`) or an idle call (`idle`
    True): what it will call, the order it was made in (`seq`), and the task
    that made it, if any."""

    when: float
    seq: int
    call: Callable[..., object]
    args: tuple[Any, ...]
    task: Task[Any] | None
    idle: bool

    @classmethod
    def of(cls, handle: TimerHandle) -> CallView:
        call, args = handle.callback
        return cls(handle.when, handle.seq, call, args, handle.task, handle.idle)


@dataclass(frozen=True, slots=True)
class PostedView:
    """A call posted from another thread, waiting for the next iteration."""

    call: Callable[..., object]
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A loop's state at one moment (see the module's docstring)."""

    # The unfinished tasks, oldest first.
    tasks: tuple[TaskView, ...]
    # The task numbers in the run queue, front first.
    run_queue: tuple[int, ...]
    # Tasks parked on (socket, direction), oldest registration first.
    waiters: tuple[Waiter, ...]
    # Tasks waiting for another to finish, by joined task then join order.
    joins: tuple[JoinView, ...]
    # Pending timers, in firing order.
    timers: tuple[CallView, ...]
    # Pending idle calls, in the order they will run.
    idle: tuple[CallView, ...]
    # Calls posted from other threads, in the order they will run.
    posted: tuple[PostedView, ...]
    # Calls handed to worker threads whose outcome has not come back.
    in_threads: int
    closed: bool

    @classmethod
    def of(
        cls,
        tasks: Iterable[Task[Any]],
        run_queue: Iterable[Task[Any]],
        waiters: Waiters,
        timers: Timers,
        posted: Iterable[tuple[Callable[..., object], tuple[Any, ...]]],
        *,
        in_threads: int,
        closed: bool,
    ) -> Snapshot:
        """A loop's snapshot from its unfinished tasks, its run queue, its
        waiters' and timers' views and its posted calls."""
        views = tuple(TaskView.of(task) for task in tasks)
        return cls(
            tasks=views,
            run_queue=tuple(task.tid for task in run_queue),
            waiters=tuple(waiters.view()),
            joins=tuple(
                JoinView(view.tid, joiner)
                for view in views
                for joiner in view.task._view()[1]
            ),
            timers=tuple(CallView.of(h) for h in timers.handles()),
            idle=tuple(CallView.of(h) for h in timers.idle_handles()),
            posted=tuple(PostedView(fn, args) for fn, args in posted),
            in_threads=in_threads,
            closed=closed,
        )
