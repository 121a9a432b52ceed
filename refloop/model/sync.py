"""The transitions of the synchronisation operations (spec/11-sync.md):
pure functions, like refloop.model.transitions, whose `_execute` hands
every operation of refloop.model.syncops to `execute` here.

Theory of operation: a waiter is a State waiter of kind "lock", "event",
"send" or "recv" (oldest first, so FIFO is the order of s.waiters). What a
waiter waits for is given to it when it is woken: a lock's or an event's
waiter, and a sender whose item moved into the buffer, have their pc moved
past the operation; a receiver keeps its pc, and its item waits in
State.handed until it runs and logs it (a log is what the task observed,
when it ran). A task cancelled while runnable after that (cancel.runnable)
keeps what it was given. A cancelled waiter (cancel.waiting) loses its
waiter, keeps its pc and raises Cancelled at the operation: it was given
nothing.
"""

from __future__ import annotations

from typing import assert_never

from .queries import ModelError
from .state import RUNNABLE, WAITING, State, Task, Waiter
from .syncops import (
    END,
    LOCK,
    RECV,
    SEND,
    SET,
    Acquire,
    ChanClose,
    Channel,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    SyncOp,
    WaitEvent,
)
from .update import CANCELLED_HERE, NEXT, PARKED

__all__ = ["declare_channel", "declare_channels", "execute", "owner"]


def declare_channel(s: State, name: str, capacity: int) -> State:
    """A new, open, empty channel."""
    if capacity < 0 or any(c.name == name for c in s.channels):
        raise ModelError(f"cannot declare channel {name!r} with capacity {capacity}")
    return s._replace(channels=(*s.channels, Channel(name, capacity)))


def declare_channels(s: State, channels: tuple[tuple[str, int], ...]) -> State:
    """Each (name, capacity) declared, in order."""
    for name, capacity in channels:
        s = declare_channel(s, name, capacity)
    return s


def owner(s: State, lock: str) -> int | None:
    for name, tid in s.locks:
        if name == lock:
            return tid
    return None


def _put_task(s: State, t: Task) -> State:
    return s._replace(tasks=(*s.tasks[: t.tid], t, *s.tasks[t.tid + 1 :]))


def _next(t: Task, *result: object) -> Task:
    return t._replace(pc=t.pc + 1, log=(*t.log, *result))


def _wake(s: State, w: Waiter) -> State:
    """Take waiter `w` out and queue its task past its operation, which it
    has completed: it logs nothing (spec: sync.fifo)."""
    s = s._replace(waiters=tuple(x for x in s.waiters if x != w))
    t = _next(s.tasks[w.tid])._replace(state=RUNNABLE, throw=None)
    # spec: cont.resume-enqueues
    return _put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid))


def _requeue(s: State, w: Waiter) -> State:
    """Take waiter `w` out and queue its task at its operation, which it
    completes when it runs."""
    s = s._replace(waiters=tuple(x for x in s.waiters if x != w))
    t = s.tasks[w.tid]._replace(state=RUNNABLE, throw=None)
    # spec: cont.resume-enqueues
    return _put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid))


def _first(s: State, kind: str, target: str) -> Waiter | None:
    for w in s.waiters:
        if w.kind == kind and w.target == target:
            return w
    return None


def _wait(s: State, t: Task, kind: str, target: str) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), CANCELLED_HERE
    t = t._replace(state=WAITING, streak=0)
    # spec: sync.fifo
    return (
        _put_task(s, t)._replace(waiters=(*s.waiters, Waiter(kind, target, t.tid))),
        t,
        PARKED,
    )


def _chan(s: State, name: str) -> Channel | None:
    for c in s.channels:
        if c.name == name:
            return c
    return None  # the operation raises UnknownChannel, as UnknownSocket


def _put_chan(s: State, new: Channel) -> State:
    return s._replace(
        channels=tuple(new if c.name == new.name else c for c in s.channels)
    )


def execute(s: State, t: Task, op: SyncOp) -> tuple[State, Task, str]:
    """Run one synchronisation operation of the running task `t`."""
    match op:
        case Acquire():
            return _acquire(s, t, op.lock)
        case Release():
            return _release(s, t, op.lock)
        case SetEvent():
            return _set(s, t, op.event)
        case WaitEvent():
            if op.event in s.set_events:
                # spec: sync.event.wait
                return s, _next(t), NEXT
            return _wait(s, t, SET, op.event)
        case ChanSend():
            return _send(s, t, op)
        case ChanRecv():
            return _recv(s, t, op.chan)
        case ChanClose():
            return _close(s, t, op.chan)
        case _:
            assert_never(op)


def _acquire(s: State, t: Task, lock: str) -> tuple[State, Task, str]:
    held = owner(s, lock)
    if held is None:
        # spec: sync.lock.acquire
        return s._replace(locks=(*s.locks, (lock, t.tid))), _next(t), NEXT
    if held == t.tid:
        # spec: sync.lock.owner
        return s, t, "LoopError"
    return _wait(s, t, LOCK, lock)


def _release(s: State, t: Task, lock: str) -> tuple[State, Task, str]:
    if owner(s, lock) != t.tid:
        # spec: sync.lock.owner
        return s, t, "LoopError"
    rest = tuple(entry for entry in s.locks if entry[0] != lock)
    first = _first(s, LOCK, lock)
    if first is None:
        return s._replace(locks=rest), _next(t), NEXT
    # spec: sync.lock.handoff
    s = s._replace(locks=(*rest, (lock, first.tid)))
    return _wake(s, first), _next(t), NEXT


def _set(s: State, t: Task, event: str) -> tuple[State, Task, str]:
    if event in s.set_events:
        return s, _next(t), NEXT
    # spec: sync.event.set
    s = s._replace(set_events=(*s.set_events, event))
    for w in [w for w in s.waiters if w.kind == SET and w.target == event]:
        s = _wake(s, w)
    return s, _next(t), NEXT


def _send(s: State, t: Task, op: ChanSend) -> tuple[State, Task, str]:
    c = _chan(s, op.chan)
    if c is None:
        return s, t, "UnknownChannel"
    if c.closed:
        # spec: chan.send.closed
        return s, t, "ChannelClosed"
    receiver = _first(s, RECV, op.chan)
    if receiver is not None:
        # spec: chan.send.handoff
        s = s._replace(handed=(*s.handed, (receiver.tid, op.item)))
        return _requeue(s, receiver), _next(t), NEXT
    if len(c.buffer) < c.capacity:
        # spec: chan.send.wait
        return _put_chan(s, c._replace(buffer=(*c.buffer, op.item))), _next(t), NEXT
    return _wait(s, t, SEND, op.chan)


def _sent_item(s: State, w: Waiter) -> int:
    op = s.tasks[w.tid].program[s.tasks[w.tid].pc]
    assert isinstance(op, ChanSend)
    return op.item


def _recv(s: State, t: Task, name: str) -> tuple[State, Task, str]:
    for entry in s.handed:
        if entry[0] == t.tid:
            # Handed over while we waited: ours, cancelled since or not.
            s = s._replace(handed=tuple(e for e in s.handed if e != entry))
            return s, _next(t, entry[1]), NEXT
    c = _chan(s, name)
    if c is None:
        return s, t, "UnknownChannel"
    sender = _first(s, SEND, name)
    # spec: chan.recv
    if c.buffer:
        item, buffer = c.buffer[0], c.buffer[1:]
        if sender is not None:
            buffer = (*buffer, _sent_item(s, sender))
            s = _wake(s, sender)
        return _put_chan(s, c._replace(buffer=buffer)), _next(t, item), NEXT
    if sender is not None:
        item = _sent_item(s, sender)
        return _wake(s, sender), _next(t, item), NEXT
    if c.closed:
        # spec: chan.close
        return s, _next(t, END), NEXT
    return _wait(s, t, RECV, name)


def _close(s: State, t: Task, name: str) -> tuple[State, Task, str]:
    c = _chan(s, name)
    if c is None:
        return s, t, "UnknownChannel"
    if c.closed:
        return s, _next(t), NEXT
    # spec: chan.close
    s = _put_chan(s, c._replace(closed=True))
    for w in [w for w in s.waiters if w.target == name and w.kind in (SEND, RECV)]:
        if w.kind == RECV:
            # It receives END when it runs: the channel stays closed and empty.
            s = _requeue(s, w)
            continue
        s = s._replace(waiters=tuple(x for x in s.waiters if x != w))
        sender = s.tasks[w.tid]._replace(state=RUNNABLE, throw="ChannelClosed")
        s = _put_task(s, sender)._replace(run_queue=(*s.run_queue, w.tid))
    return s, _next(t), NEXT


# spec: inv.sync-queues
def sync_queues(s: State) -> bool:
    """A lock has waiters only while held, by one owner; an event has none
    once set; a channel holds at most its capacity, has senders waiting only
    while full and open, receivers only while empty, open and without
    waiting senders; every such waiter's task waits."""
    held = [name for name, _ in s.locks]
    if len(set(held)) != len(held):
        return False
    for w in s.waiters:
        if w.kind == LOCK and w.target not in held:
            return False
        if w.kind == SET and w.target in s.set_events:
            return False
        if w.kind in (LOCK, SET, SEND, RECV) and s.tasks[w.tid].state != WAITING:
            return False
    if any(s.tasks[tid].state != RUNNABLE for tid, _ in s.handed):
        return False
    for c in s.channels:
        kinds = {w.kind for w in s.waiters if w.target == c.name}
        if len(c.buffer) > c.capacity:
            return False
        if SEND in kinds and (c.closed or len(c.buffer) < c.capacity or RECV in kinds):
            return False
        if RECV in kinds and (c.closed or c.buffer):
            return False
    return True
