"""The environment's transitions: what a peer, a thread or the clock does
to the loop's world. They are the only source of choice in the model, and
their arguments are explicit inputs (spec: env.*).
"""

from __future__ import annotations

from .faults import Fault, refusal
from .queries import ModelError, _stays_ready, due_timers, sock, well_formed
from .state import DROP, POOL, THREAD, Callback, State
from .update import put_sock, stream

__all__ = [
    "advance",
    "inject_fault",
    "peer_close",
    "peer_connect",
    "peer_recv",
    "peer_send",
    "pool_finish",
    "thread_post",
]

# What the contracts in the docstrings below read (CrossHair evaluates them
# in this module's names).
_CONTRACTS_READ = (_stays_ready, due_timers, well_formed)


def peer_send(s: State, name: str, data: bytes) -> State:
    """The peer of stream `name` sends `data`.

    pre: well_formed(s)
    raises: ModelError
    post: sock(__return__, name).inbound == sock(s, name).inbound + data
    post: __return__._replace(sockets=s.sockets) == s
    post: _stays_ready(s, __return__)
    """
    found = stream(s, name)
    if found.peer_closed or not data:
        raise ModelError(f"the peer of {name!r} cannot send {data!r} now")
    # spec: env.peer-send
    return put_sock(s, found._replace(inbound=found.inbound + data))


def peer_close(s: State, name: str) -> State:
    """The peer of stream `name` closes its sending side.

    pre: well_formed(s)
    raises: ModelError
    post: sock(__return__, name) == sock(s, name)._replace(peer_closed=True)
    post: __return__._replace(sockets=s.sockets) == s
    post: _stays_ready(s, __return__)
    """
    found = stream(s, name)
    if found.peer_closed:
        raise ModelError(f"the peer of {name!r} has already closed")
    # spec: env.peer-close
    return put_sock(s, found._replace(peer_closed=True))


def peer_recv(s: State, name: str, n: int) -> tuple[State, bytes]:
    """The peer of stream `name` reads up to `n` bytes of what the loop sent.

    pre: well_formed(s)
    raises: ModelError
    post: __return__[1] + sock(__return__[0], name).outbound == sock(s, name).outbound
    post: len(__return__[1]) <= n
    post: __return__[0]._replace(sockets=s.sockets) == s
    post: _stays_ready(s, __return__[0])
    """
    found = sock(s, name)
    if found is None or found.listener:
        raise ModelError(f"{name!r} is not a stream socket in this state")
    if n < 1:
        raise ModelError(f"the peer of {name!r} must read at least one byte, not {n}")
    # spec: env.peer-recv
    data = found.outbound[:n]
    return put_sock(s, found._replace(outbound=found.outbound[n:])), data


def thread_post(s: State, tid: int) -> State:
    """The thread holding task `tid`'s continuation posts it to the loop."""
    held = [w for w in s.waiters if w.kind == THREAD and w.tid == tid]
    if not held:
        raise ModelError(f"no thread holds the continuation of task {tid}")
    # spec: thread.post
    s = s._replace(waiters=tuple(w for w in s.waiters if w not in held))
    return s._replace(posted=(*s.posted, tid))


def pool_finish(s: State, job: int) -> State:
    """`run_in_thread` job `job` finishes in its worker thread, which posts
    its outcome. If its task still waits for it, the post resumes the task
    (as thread_post does); if not (cancelled meanwhile: an orphan), the post
    is a call that the loop runs and drops, a DROP callback, resuming
    nobody (thread.run-cancel).

    pre: well_formed(s)
    raises: ModelError
    post: job not in __return__.orphans
    post: len(__return__.posted) == len(s.posted) + 1
    """
    waiting = [w for w in s.waiters if w.kind == POOL and w.target == job]
    if waiting:
        # spec: thread.run
        s = s._replace(waiters=tuple(w for w in s.waiters if w not in waiting))
        return s._replace(posted=(*s.posted, waiting[0].tid))
    if job not in s.orphans:
        raise ModelError(f"no run_in_thread job {job} is running")
    # spec: thread.run-cancel
    n = len(s.calls)
    return s._replace(
        orphans=tuple(o for o in s.orphans if o != job),
        calls=(*s.calls, Callback(DROP, job)),
        posted=(*s.posted, ~n),
    )


def advance(s: State, ticks: int) -> State:
    """The clock moves forward by `ticks` (at least one).

    raises: ModelError
    post: __return__ == s._replace(now=s.now + ticks)
    post: all(tm in due_timers(__return__) for tm in due_timers(s))
    """
    if ticks < 1:
        raise ModelError(f"the clock moves forward by at least one tick, not {ticks}")
    # spec: env.advance
    return s._replace(now=s.now + ticks)


def peer_connect(s: State, name: str) -> State:
    """A new peer connects to listener `name`.

    pre: well_formed(s)
    raises: ModelError
    post: sock(__return__, name).backlog == sock(s, name).backlog + 1
    post: __return__._replace(sockets=s.sockets) == s
    post: _stays_ready(s, __return__)
    """
    found = sock(s, name)
    if found is None or not found.listener or found.closed:
        raise ModelError(f"{name!r} is not an open listener in this state")
    # spec: env.peer-connect
    return put_sock(s, found._replace(backlog=found.backlog + 1))


def inject_fault(s: State, name: str, fault: Fault) -> State:
    """The next matching system call on open socket `name` meets `fault`
    (queued behind the faults already there; refloop.model.faults).

    pre: well_formed(s)
    raises: ModelError
    post: sock(__return__, name).faults == (*sock(s, name).faults, fault)
    post: __return__._replace(sockets=s.sockets) == s
    post: _stays_ready(s, __return__)
    """
    found = sock(s, name)
    if found is None or found.closed:
        raise ModelError(f"{name!r} is not an open socket in this state")
    why = refusal(found.listener, fault)
    if why is not None:
        raise ModelError(why)
    # spec: env.fault
    return put_sock(s, found._replace(faults=(*found.faults, fault)))
