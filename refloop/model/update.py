"""The small updates every transition makes: put a task or a socket back
into the state, queue a task, and the verdicts an operation returns to the
interpreter (refloop.model.running). Pure functions of a State."""

from __future__ import annotations

from .queries import ModelError, sock
from .state import READ, RUNNABLE, WAITING, WRITE, Sock, State, Task, Waiter

__all__ = [
    "CANCELLED_HERE",
    "NEXT",
    "PARKED",
    "completed",
    "enqueue",
    "put_sock",
    "put_task",
    "stream",
    "wait",
    "yield_task",
]

# What executing one operation did to the task:
NEXT = "next"  # completed (or made progress); interpret on
PARKED = "parked"  # suspended: waiting, or back in the run queue
CANCELLED_HERE = "cancelled here"  # the task's own Cancelled, at a suspension


def put_sock(s: State, new: Sock) -> State:
    sockets = tuple(new if old.name == new.name else old for old in s.sockets)
    if sockets == s.sockets and sock(s, new.name) is None:
        sockets = (*s.sockets, new)
    return s._replace(sockets=sockets)


def put_task(s: State, t: Task) -> State:
    return s._replace(tasks=(*s.tasks[: t.tid], t, *s.tasks[t.tid + 1 :]))


def stream(s: State, name: str) -> Sock:
    found = sock(s, name)
    if found is None or found.listener or found.closed:
        raise ModelError(f"{name!r} is not an open stream socket in this state")
    return found


def enqueue(s: State, t: Task, throw: str | None) -> State:
    # spec: cont.resume-enqueues
    t = t._replace(state=RUNNABLE, throw=throw)
    return put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid))


def completed(t: Task, result: object) -> Task:
    return t._replace(pc=t.pc + 1, offset=0, log=(*t.log, result))


def yield_task(s: State, t: Task) -> tuple[State, Task, str]:
    """The task goes to the back of the run queue."""
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), CANCELLED_HERE
    t = t._replace(state=RUNNABLE, streak=0)
    return put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid)), t, PARKED


def wait(s: State, t: Task, kind: str, target: str | int) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), CANCELLED_HERE
    if kind in (READ, WRITE):
        for w in s.waiters:
            if w.kind == kind and w.target == target:
                # spec: io.wait.one-per-direction
                return s, t, "BusyError"
    # spec: io.wait
    t = t._replace(state=WAITING, streak=0)
    s = put_task(s, t)._replace(waiters=(*s.waiters, Waiter(kind, target, t.tid)))
    return s, t, PARKED
