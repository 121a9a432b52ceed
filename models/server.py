"""A server with a task group, shut down by the group's cancel
(spec/09-cancel.md: cancel.scope.group-cancel, cancel.shield), each system
with a broken variant that the checker refutes.

`server-group-cancel`: task 0 is the server, the owner of the group: in the
group's block, and an inner scope (a per-accept one), it waits to accept a
connection on `L`, then closes the listener. Task 1 handles client `A`: it
reads a byte, then says goodbye in a shielded CancelScope (a one-byte send
between two yields, the suspensions a real send may make), and closes. Task
2 handles a client that never speaks, in two nested scopes (a handler's own
scope, and an inner one around its read). Task 3 is an admin task that
calls `group.cancel()`: the owner's block, and a cancel of each child
(`CancelScopes`; the group's Cancelled is no scope of a child's, so it
unwinds the child as a plain cancel does). The client may send its byte or
not (`Free`).

Properties, at the end: every task ended, with nothing left behind (no
waiter, timer or queued task: server.nothing-left); the server left its
block by the cancel and closed its listener (server.listener-closed); a
handler that began its goodbye finished it, the group's cancel held off
until the shield's end (server.goodbye-whole); and no deadlock, everything
terminates under weak fairness.

Broken: `leaky-shield` (the twin of refloop.testing.broken_scopes's
LeakyShield) lets the group's cancel into the goodbye, and the checker
shows the handler cut off after its read; `shallow-scope-cancel` (the twin
of ShallowScope) misses the server, which waits in the inner scope, and
the checker shows the deadlock: the server waits for ever, its listener
open.
"""

from refloop.check import Free, Property, System, World
from refloop.model import (
    DONE,
    FAILED,
    Accept,
    CancelScopes,
    Close,
    EndCancelScope,
    OpenCancelScope,
    Recv,
    SendAll,
    YieldNow,
)

SERVER = (
    OpenCancelScope(),
    OpenCancelScope(),
    Accept("L"),
    EndCancelScope(),
    EndCancelScope(),
    Close("L"),
)
GOODBYE = (
    OpenCancelScope(shield=True),
    YieldNow(),
    SendAll("A", b"b"),
    YieldNow(),
    EndCancelScope(),
)
TALKER = (Recv("A", 1), *GOODBYE, Close("A"))
SILENT = (
    OpenCancelScope(),
    OpenCancelScope(),
    Recv("B", 1),
    EndCancelScope(),
    EndCancelScope(),
)
ADMIN = (YieldNow(), CancelScopes(((0, 0), (1, -1), (2, -1))))


def nothing_left(w: World) -> bool:
    s = w.state
    ended = all(t.state in (DONE, FAILED) for t in s.tasks)
    return ended and not s.waiters and not s.timers and not s.run_queue


def listener_closed(w: World) -> bool:
    server = w.state.tasks[0]
    closed = any(k.name == "L" and k.closed for k in w.state.sockets)
    return server.state == DONE and server.log == (("scope", True),) and closed


def goodbye_whole(w: World) -> bool:
    talker = w.state.tasks[1]
    if not talker.log:
        return talker.state == FAILED  # cancelled in its read: no goodbye begun
    return talker.state == DONE and talker.log == (b"x", 1, ("scope", False))


SERVER_GROUP = System(
    name="server-group-cancel",
    tasks=(SERVER, TALKER, SILENT, ADMIN),
    streams=("A", "B"),
    listeners=("L",),
    env=(Free("A"),),
    at_end=(
        Property(
            "server.nothing-left",
            "every task ended, with no waiter, timer or queued task left",
            nothing_left,
        ),
        Property(
            "server.listener-closed",
            "the group's cancel ended the server's block; it closed its listener",
            listener_closed,
        ),
        Property(
            "server.goodbye-whole",
            "a handler that began its shielded goodbye finished it",
            goodbye_whole,
        ),
    ),
    doc="a server, two handlers in a task group, and group.cancel()",
)

SYSTEMS = [
    SERVER_GROUP,
    SERVER_GROUP.variant(
        name="server-leaky-shield",
        policy="leaky-shield",
        expect=("server.goodbye-whole",),
        doc="the same with a shield that lets the group's cancel through",
    ),
    SERVER_GROUP.variant(
        name="server-shallow-cancel",
        policy="shallow-scope-cancel",
        expect=("prop.no-deadlock",),
        doc="the same with a scope cancel that misses a task in a nested scope",
    ),
]
