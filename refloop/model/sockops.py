"""The socket operations of a task's program (recv, send, send_all, accept,
close): tried first, suspending only if they would block. Pure functions of
a State, called by refloop.model.running."""

from __future__ import annotations

from typing import assert_never

from .faults import take_call, take_short
from .programs import Accept, Close, Recv, Send, SendAll
from .queries import sock
from .state import READ, WRITE, Sock, State, Task
from .update import NEXT, completed, enqueue, put_sock, wait, yield_task

__all__ = ["close", "close_socket", "io"]


def _socket_op(s: State, t: Task, name: str) -> tuple[Sock | None, str | None]:
    """The socket an operation names, or the error the operation raises."""
    found = sock(s, name)
    if found is None:
        return None, "UnknownSocket"
    if found.closed:
        # spec: io.closed.rejects
        return None, "ClosedError"
    return found, None


def io(
    s: State, t: Task, op: Recv | Send | SendAll | Accept
) -> tuple[State, Task, str]:
    """An operation on a socket: tried first, suspending only if it would
    block."""
    if isinstance(op, SendAll) and t.offset >= len(op.data):
        # spec: op.sendall
        return s, completed(t, len(op.data)), NEXT
    if sock(s, op.sock) is not None and t.streak >= s.budget:
        # spec: op.budget
        return yield_task(s, t)
    found, error = _socket_op(s, t, op.sock)
    if found is None:
        assert error is not None
        return s, t, error
    match op:
        case Recv():
            return _recv(s, t, op, found)
        case Accept():
            return _accept(s, t, found)
        case Send() | SendAll():
            return _send(s, t, op, found)
        case _:
            assert_never(op)


def _call(s: State, found: Sock, kind: str) -> tuple[State, Sock, str | None]:
    """The operation's system call meets the socket's injected faults: the
    error it raises, if any (op.error; an EINTR is retried, op.eintr)."""
    faults, error = take_call(found.faults, kind)
    found = found._replace(faults=faults)
    return put_sock(s, found), found, error


def _recv(s: State, t: Task, op: Recv, found: Sock) -> tuple[State, Task, str]:
    if found.faults:
        s, found, error = _call(s, found, "recv")
        if error is not None:
            return s, t, error
    if found.inbound or found.peer_closed:
        n = op.n
        if found.faults and found.inbound:
            # spec: op.short
            faults, n = take_short(found.faults, "recv", min(n, len(found.inbound)))
            found = found._replace(faults=faults)
        # spec: op.try-first
        # spec: op.recv.eof
        data = found.inbound[:n]
        s = put_sock(s, found._replace(inbound=found.inbound[n:]))
        return s, completed(t, data)._replace(streak=t.streak + 1), NEXT
    return wait(s, t, READ, found.name)


def _send(
    s: State, t: Task, op: Send | SendAll, found: Sock
) -> tuple[State, Task, str]:
    if found.faults:
        s, found, error = _call(s, found, "send")
        if error is not None:
            return s, t, error
    room = s.capacity - len(found.outbound)
    if room <= 0:
        return wait(s, t, WRITE, found.name)
    rest = op.data[t.offset :]
    if found.faults and rest:
        # spec: op.short
        faults, room = take_short(found.faults, "send", min(room, len(rest)))
        found = found._replace(faults=faults)
    # spec: op.try-first
    chunk = rest[:room]
    s = put_sock(s, found._replace(outbound=found.outbound + chunk))
    t = t._replace(streak=t.streak + 1)
    if isinstance(op, Send):
        return s, completed(t, len(chunk)), NEXT
    return s, t._replace(offset=t.offset + len(chunk)), NEXT


def _accept(s: State, t: Task, found: Sock) -> tuple[State, Task, str]:
    if found.faults:
        # spec: op.accept.resources
        s, found, error = _call(s, found, "accept")
        if error is not None:
            return s, t, error
    if found.backlog == 0:
        return wait(s, t, READ, found.name)
    # spec: op.try-first
    name = f"{found.name}.{found.accepted}"
    s = put_sock(
        s, found._replace(backlog=found.backlog - 1, accepted=found.accepted + 1)
    )
    s = put_sock(s, Sock(name))
    return s, completed(t, name)._replace(streak=t.streak + 1), NEXT


def close(s: State, t: Task, op: Close) -> tuple[State, Task, str]:
    found = sock(s, op.sock)
    if found is None:
        return s, t, "UnknownSocket"
    return close_socket(s, op.sock), t._replace(pc=t.pc + 1), NEXT


def close_socket(s: State, name: str) -> State:
    """`loop.close_socket(sock)` of socket `name`, by a task or by the loop
    itself (loop.sigint): its waiters are woken with ClosedError, its
    unread bytes lost; closing twice changes nothing."""
    found = sock(s, name)
    if found is None or found.closed:
        return s
    # spec: io.close.unregister-first
    parked = [w for w in s.waiters if w.kind in (READ, WRITE) and w.target == name]
    s = s._replace(waiters=tuple(w for w in s.waiters if w not in parked))
    # spec: io.close.keeps-sent
    reset = bool(found.inbound)
    s = put_sock(
        s,
        found._replace(
            closed=True,
            inbound=b"",
            backlog=0,
            reset=reset,
            outbound=b"" if reset else found.outbound,
        ),
    )
    # spec: io.close.wakes
    for w in parked:
        s = enqueue(s, s.tasks[w.tid], "ClosedError")
    return s
