"""The OS's limits, injected: faults the environment queues on a socket for
its next system calls (spec: env.fault), and what an operation's call makes
of them (op.error, op.eintr, op.short, io.ready.error).

A fault is one-shot: `inject_fault(s, sock, fault)` queues it on the socket,
and the next call of its kind (`recv`; `send`, which `sendall` makes once
per chunk; `accept`) takes it. An error (ECONNRESET, EPIPE, EMFILE, ENFILE,
ECONNABORTED, EPROTO, EINTR) is taken by the next call of its kind, whatever
that call would have done; a short transfer (`SHORT`, at most `size` bytes)
by the next call of its kind that moves bytes. Pure functions of a socket's
fault queue (`Sock.faults`): refloop.model.environment's `inject_fault`
queues one, refloop.model.sockops calls `take_call` and `take_short` from
the operations, and refloop.model.queries reads `error_pending`."""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "CONNECTION_ERRORS",
    "FAULT_KINDS",
    "SHORT",
    "Fault",
    "error_pending",
    "refusal",
    "take_call",
    "take_short",
]

SHORT: Final = "short"
EINTR: Final = "EINTR"

# What each injected errno raises in the task: the class Python gives an
# OSError with that errno (spec: op.error).
RAISES: Final = {
    "ECONNRESET": "ConnectionResetError",
    "EPIPE": "BrokenPipeError",
    "EMFILE": "OSError",
    "ENFILE": "OSError",
    # spec: op.accept.aborted
    "ECONNABORTED": "ConnectionAbortedError",
    "EPROTO": "OSError",
}
# The errors that put the connection in error: the kernel reports the
# socket ready (epoll's EPOLLERR) in the failing call's direction.
CONNECTION_ERRORS: Final = ("ECONNRESET", "EPIPE")

# Which faults each call can meet: recv(2) fails with ECONNRESET on a reset
# connection (EPIPE is a send's); send(2) with either; accept(2) with EMFILE
# or ENFILE when descriptors run out, and with ECONNABORTED or EPROTO when a
# connection was aborted before it was accepted. EINTR can interrupt any.
FAULT_KINDS: Final = {
    "recv": ("ECONNRESET", EINTR, SHORT),
    "send": ("ECONNRESET", "EPIPE", EINTR, SHORT),
    "accept": ("EMFILE", "ENFILE", "ECONNABORTED", "EPROTO", EINTR),
}


class Fault(NamedTuple):
    """The next `op` call ("recv", "send" or "accept") on a socket fails with
    errno `kind`, or (kind SHORT) moves at most `size` bytes."""

    op: str
    kind: str
    size: int = 0


def refusal(listener: bool, fault: Fault) -> str | None:
    """Why `fault` cannot be queued on such a socket, or None."""
    kinds = FAULT_KINDS.get(fault.op)
    if kinds is None:
        return f"{fault!r}: the op is one of {sorted(FAULT_KINDS)}"
    if fault.kind not in kinds:
        return f"{fault!r}: a {fault.op} call can meet only {', '.join(kinds)}"
    if (fault.op == "accept") != listener:
        where = "listener" if listener else "stream"
        return f"{fault!r} cannot happen on a {where}: accept is a listener's call"
    if (fault.kind == SHORT) != (fault.size >= 1):
        return f"{fault!r}: a short transfer needs size >= 1, an error size 0"
    return None


def _first(faults: tuple[Fault, ...], op: str) -> int:
    for i, fault in enumerate(faults):
        if fault.op == op:
            return i
    return -1


def error_pending(faults: tuple[Fault, ...], op: str) -> bool:
    """Whether the next `op` call meets a connection error (which makes the
    socket ready in that direction: io.ready.error)."""
    i = _first(faults, op)
    return i >= 0 and faults[i].kind in CONNECTION_ERRORS


def take_call(
    faults: tuple[Fault, ...], op: str
) -> tuple[tuple[Fault, ...], str | None]:
    """One `op` call: the faults left and the error it raises, if any. An
    EINTR is retried at once, so the retry meets the next fault."""
    while True:
        i = _first(faults, op)
        if i < 0 or faults[i].kind == SHORT:
            return faults, None
        kind = faults[i].kind
        faults = faults[:i] + faults[i + 1 :]
        if kind == EINTR:
            # spec: op.eintr
            continue
        # spec: op.error
        return faults, RAISES[kind]


def take_short(
    faults: tuple[Fault, ...], op: str, want: int
) -> tuple[tuple[Fault, ...], int]:
    """A call of `op` that would move `want` bytes (at least one): the faults
    left and how many it moves."""
    i = _first(faults, op)
    if i < 0 or faults[i].kind != SHORT:
        return faults, want
    # spec: op.short
    return faults[:i] + faults[i + 1 :], min(want, faults[i].size)
