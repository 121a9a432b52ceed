"""The little language that model tasks run.

A program is a tuple of operations; each is a frozen dataclass with a short
repr that can be pasted back into Python. Socket names are strings: the
harness and the model checker decide what they stand for. A listener `L`
names the k-th connection it accepts `L.k`.

Results a task observes are appended to its log: `Recv` logs the bytes,
`Send` the count sent, `SendAll` the length of its data, `Accept` the new
socket's name, `Join` the pair ("join", tid). `Close`, `YieldNow` and `Sleep`
log nothing, nor do `WaitIdle`, `AwaitThread` and
`InThread`. Time is counted in whole
ticks (one tick is one second of the loop's clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from .syncops import SyncOp

__all__ = [
    "Accept",
    "AwaitThread",
    "Bracket",
    "Call",
    "CancelScopes",
    "Close",
    "EndCancelScope",
    "EndMoveOnAfter",
    "InThread",
    "Join",
    "MoveOnAfter",
    "OnClose",
    "Op",
    "OpenCancelScope",
    "Program",
    "Recv",
    "Send",
    "SendAll",
    "Sleep",
    "Suspend",
    "WaitIdle",
    "YieldNow",
]


@dataclass(frozen=True, slots=True)
class Recv:
    """`await recv(sock, n)`"""

    sock: str
    n: int


@dataclass(frozen=True, slots=True)
class Send:
    """`await send(sock, data)`"""

    sock: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SendAll:
    """`await sendall(sock, data)`"""

    sock: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Accept:
    """`await accept(sock)`"""

    sock: str


@dataclass(frozen=True, slots=True)
class Close:
    """`close(sock)` (never suspends)"""

    sock: str


@dataclass(frozen=True, slots=True)
class YieldNow:
    """`await yield_now()`"""


@dataclass(frozen=True, slots=True)
class Join:
    """`await task.join()` for the task numbered `tid`"""

    tid: int


@dataclass(frozen=True, slots=True)
class Sleep:
    """`await sleep(ticks)`: negative means now, math.inf until cancelled
    (timer.sleep, timer.infinite)"""

    ticks: float


@dataclass(frozen=True, slots=True)
class WaitIdle:
    """`await wait_idle()`"""


@dataclass(frozen=True, slots=True)
class AwaitThread:
    """Suspend, handing the continuation to another thread, which resumes it
    with `call_soon_threadsafe` when the environment says (`thread_post`)."""


@dataclass(frozen=True, slots=True)
class InThread:
    """`await run_in_thread(fn)`: the loop's pool runs job `fn`, numbered in
    the order jobs are submitted (State.jobs); the environment says when it
    finishes (`pool_finish`), and its post resumes the task, or is dropped
    if the task was cancelled meanwhile (thread.run, thread.run-cancel).
    Logs nothing."""


@dataclass(frozen=True, slots=True)
class Suspend:
    """`await suspend(handler)` whose handler raises (cont.handler-raises,
    cont.handler-base-exception): `raises` is "error" (an Exception,
    HandlerError), "base" (a BaseException of the user's own, HandlerBase),
    "interrupt" (a KeyboardInterrupt, HandlerInterrupt, which ends the
    iteration), or "resumed" (the handler resumes k, then raises: LoopError).
    The task fails with it: a model program handles no exception."""

    raises: str


@dataclass(frozen=True, slots=True)
class MoveOnAfter:
    """`with move_on_after(ticks):` is entered; the matching EndMoveOnAfter
    leaves it. When it fires, the task goes on after that EndMoveOnAfter."""

    ticks: int


@dataclass(frozen=True, slots=True)
class EndMoveOnAfter:
    """The innermost open `move_on_after` block is left; logs ("timeout",
    fired)."""


@dataclass(frozen=True, slots=True)
class OpenCancelScope:
    """`with CancelScope(shield=shield):` is entered; the matching
    EndCancelScope leaves it. Cancelled by `scope.cancel()` (CancelScopes,
    or the environment), the task goes on after that EndCancelScope."""

    shield: bool = False


@dataclass(frozen=True, slots=True)
class EndCancelScope:
    """The innermost open CancelScope block is left; logs ("scope", False),
    or ("scope", True) when the scope absorbed its Cancelled instead."""


@dataclass(frozen=True, slots=True)
class CancelScopes:
    """`scope.cancel()` for each (tid, pc) in turn: the CancelScope that
    task `tid` opened at `pc`, if it is open now; `task.cancel()` for pc -1
    (never suspends). A task group's `cancel()` is its owner's block and a
    cancel of each child, in one call (cancel.scope.cancel,
    cancel.scope.group-cancel: the group's Cancelled is no scope of the
    child's, so it unwinds the child as a plain one does)."""

    targets: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class OnClose:
    """The rest of the program runs inside `try: ... except GeneratorExit:`
    whose handler misbehaves when `loop.close()` closes the coroutine
    (loop.close.raises): `raises` is "error" (it raises an Exception of the
    user's, CleanupError), "await" (it awaits: Python raises RuntimeError)
    or "interrupt" (it raises a KeyboardInterrupt, CleanupInterrupt). It
    does nothing otherwise (a cancellation is not a close), nor inside a
    block (whose jump could skip it)."""

    raises: str


# The operations that are one refloop call each (the synchronisation ones,
# spec/11-sync.md, in refloop.model.syncops), and the brackets of a timeout
# block (which a real task enters and leaves with `with`). Every place that
# dispatches on operations matches on these unions and ends with
# `assert_never`, so mypy --strict names each place a new one is missing.
Call = (
    (Recv | Send | SendAll | Accept | Close | YieldNow | Join | Sleep | WaitIdle)
    | AwaitThread
    | InThread
    | CancelScopes
    | Suspend
    | SyncOp
)
Bracket = MoveOnAfter | EndMoveOnAfter | OpenCancelScope | EndCancelScope | OnClose
Op = Call | Bracket
Program = tuple[Op, ...]


def matching_end(program: Program, opened: int) -> int:
    """The index of the end (EndMoveOnAfter, EndCancelScope) of the block
    opened at `opened` (MoveOnAfter, OpenCancelScope)."""
    depth = 0
    for i in range(opened, len(program)):
        if isinstance(program[i], MoveOnAfter | OpenCancelScope):
            depth += 1
        elif isinstance(program[i], EndMoveOnAfter | EndCancelScope):
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"the block opened at {opened} is never closed in {program!r}")


def shielded(program: Program, opened: int) -> bool:
    """Whether the block opened at `opened` is a shielded CancelScope."""
    op = program[opened]
    return isinstance(op, OpenCancelScope) and op.shield
