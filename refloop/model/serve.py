"""One listener served by `serve_listeners`' accept loop (spec/12-streams.md:
serve.backoff, serve.task-per-connection, serve.shutdown; op.accept.aborted).

What the model follows is the accept loop's policy under the OS's limits:
which errors of `accept(2)` make it sleep, for how long, which it retries at
once and which end the server; that it never calls `accept` while it sleeps
(so it cannot spin); and that the connections queued meanwhile are served
once it wakes. Time is virtual: it moves only by `advance`.

Rules this module keeps:

1. The state is pure data (`Server`), and every function returns a new one.
2. The accept loop is at one place: awake (it calls `accept` at once),
   waiting for the listener to be readable (`waiting`: a connection wakes
   it), asleep until `wake_at`, or ended.
3. Every call of `accept` is counted (`attempts`), the would-block ones too:
   a loop that retried without sleeping would count more than the model.
4. A scripted fault is met by the next call of `accept`, whatever is queued
   (Linux takes a descriptor before it looks at the queue: EMFILE comes
   first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "ABORTED",
    "CANCELLED",
    "CAP",
    "EINTR",
    "ENDING",
    "FIRST",
    "GONE",
    "QUEUED",
    "SERVED",
    "SHORTAGES",
    "Server",
    "advance",
    "cancel",
    "connect",
    "fail_next",
    "hang_up",
    "live",
    "send_line",
    "settle",
]

# spec: serve.backoff
FIRST: Final = 0.1
CAP: Final = 1.0
SHORTAGES: Final = ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
# spec: op.accept.aborted
ABORTED: Final = ("ECONNABORTED", "EPROTO")
# spec: op.eintr (the operation itself calls again)
EINTR: Final = "EINTR"
# An error of neither kind: it ends the server.
ENDING: Final = "EINVAL"
CANCELLED: Final = "Cancelled"

# Where a client is: in the kernel's queue, served by a connection task, or
# gone (its connection closed; by the client, or by the server's end).
QUEUED: Final = "queued"
SERVED: Final = "served"
GONE: Final = "gone"


@dataclass(frozen=True)
class Server:
    now: float = 0.0
    delay: float = FIRST  # the next back-off's length
    waiting: bool = False  # parked until the listener is readable
    wake_at: float | None = None  # asleep until then
    script: tuple[str, ...] = ()  # the errors the next accepts meet, in order
    attempts: int = 0  # calls of accept(2), would-block ones too
    logged: tuple[float, ...] = ()  # each back-off's delay, as warned
    clients: tuple[str, ...] = ()  # each client's place, in connect order
    hung_up: frozenset[int] = frozenset()  # clients that closed their end
    ended: str | None = None  # None; CANCELLED; or the errno that ended it
    max_line: int = 1024  # the streams' max_line (serve_listeners' argument)
    failures: int = 0  # handlers that failed, each logged


def live(s: Server) -> int:
    """How many connection tasks run: served clients that did not hang up."""
    return sum(
        1 for i, where in enumerate(s.clients) if where == SERVED and i not in s.hung_up
    )


def _accept_one(s: Server) -> Server:
    """The oldest queued client is accepted: a task serves it (one that hung
    up already reads the end at once and its task ends)."""
    i = s.clients.index(QUEUED)
    clients = list(s.clients)
    clients[i] = GONE if i in s.hung_up else SERVED
    # spec: serve.backoff (the delay starts over after an accept succeeds)
    return replace(s, clients=tuple(clients), delay=FIRST)


def settle(s: Server) -> Server:
    """Run the accept loop until it waits, sleeps or ends.

    pre: FIRST <= s.delay <= CAP
    post: FIRST <= __return__.delay <= CAP
    post: (__return__.ended, __return__.waiting, __return__.wake_at) != (None, 0, None)
    post: __return__.attempts >= s.attempts
    post: len(__return__.clients) == len(s.clients)
    """
    while s.ended is None and not s.waiting and s.wake_at is None:
        s = replace(s, attempts=s.attempts + 1)
        if s.script:
            fault, script = s.script[0], s.script[1:]
            s = replace(s, script=script)
            if fault in SHORTAGES:
                # spec: serve.backoff
                s = replace(
                    s,
                    logged=(*s.logged, s.delay),
                    wake_at=s.now + s.delay,
                    delay=min(s.delay * 2, CAP),
                )
            elif fault not in ABORTED and fault != EINTR:
                # any other error ends the server with it
                s = _end(s, fault)
        elif QUEUED in s.clients:
            # spec: serve.task-per-connection
            s = _accept_one(s)
        else:
            # spec: op.try-first (would block: wait on the listener)
            s = replace(s, waiting=True)
    return s


def _end(s: Server, why: str) -> Server:
    """The server ends: listener and every connection closed, the queued
    clients refused (spec: serve.shutdown)."""
    return replace(
        s,
        ended=why,
        waiting=False,
        wake_at=None,
        clients=tuple(GONE for _ in s.clients),
    )


def connect(s: Server) -> Server:
    """A client connects: queued in the kernel; wakes a waiting accept loop
    (refused once the server has ended)."""
    if s.ended is not None:
        return s
    s = replace(s, clients=(*s.clients, QUEUED), waiting=False)
    return settle(s)


def fail_next(s: Server, fault: str) -> Server:
    """The next call of accept fails with `fault` (an errno's name). It does
    not wake the loop: a fault is met only by a call."""
    return replace(s, script=(*s.script, fault))


def hang_up(s: Server, client: int) -> Server:
    """Client number `client` closes its end: a task serving it reads the
    end of the stream and ends; a queued one will be accepted and end."""
    s = replace(s, hung_up=s.hung_up | {client})
    if s.clients[client] == SERVED:
        clients = list(s.clients)
        clients[client] = GONE
        s = replace(s, clients=tuple(clients))
    return s


def send_line(s: Server, client: int, length: int) -> tuple[Server, bool]:
    """Served client number `client` sends a line of `length` bytes and its
    newline; the handler echoes a line that fits the streams' `max_line`
    (True), and fails on one that does not (False): LimitOverrunError, logged,
    its connection closed, the server goes on (spec: serve.handler-fails).

    pre: 0 <= client < len(s.clients)
    pre: s.clients[client] == SERVED and client not in s.hung_up
    pre: length >= 0
    post: __return__[1] == (length + 1 <= s.max_line)
    post: live(__return__[0]) == live(s) - (not __return__[1])
    """
    if length + 1 <= s.max_line:
        return s, True
    clients = list(s.clients)
    clients[client] = GONE
    return replace(s, clients=tuple(clients), failures=s.failures + 1), False


def advance(s: Server, seconds: float) -> Server:
    """Time moves on; a back-off that is over wakes the accept loop, which
    calls accept again at once (without waiting on the listener)."""
    s = replace(s, now=s.now + seconds)
    if s.wake_at is not None and s.now >= s.wake_at:
        s = settle(replace(s, wake_at=None))
    return s


def cancel(s: Server) -> Server:
    """The server's task is cancelled (spec: serve.shutdown)."""
    if s.ended is not None:
        return s
    return _end(s, CANCELLED)
