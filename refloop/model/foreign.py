"""Calls from another thread: the environment's thread calls one of the
loop's public doors while the loop's thread is between iterations. The
spec's table (thread.owner) says which are allowed; every other is refused
with LoopError and changes nothing (thread.refused-unchanged). The one door
that works, `call_soon_threadsafe`, is `refloop.model.callbacks.thread_call`
(and `thread_post` for a held continuation).
"""

from __future__ import annotations

from .queries import ModelError
from .state import DONE, FAILED, READ, THREAD, WRITE, State

__all__ = ["FOREIGN_CALLS", "foreign_call", "foreign_targets"]

# The public calls the stateful test makes from another thread, each with
# its target: a task (cancel, resume: k() of its held continuation), a
# callback's handle (withdraw: TimerHandle.cancel), a socket (close_socket,
# close: refloop.close of a socket a waiter is registered on), or none.
FOREIGN_CALLS = (
    "cancel",
    "resume",
    "withdraw",
    "call_later",
    "call_when_idle",
    "spawn",
    "close_socket",
    "close",
    "snapshot",
)


def foreign_call(s: State, call: str, target: int | str) -> tuple[State, str]:
    """Another thread makes `call` on `target`: the state (unchanged: none of
    these is allowed) and the outcome, "LoopError" for a refusal or the
    call's result ("False": cancelling a finished task).

    raises: ModelError
    post: __return__[0] == s
    """
    if call not in FOREIGN_CALLS:
        raise ModelError(f"{call!r} is not one of the calls {FOREIGN_CALLS}")
    finished = (DONE, FAILED)
    if call == "cancel" and isinstance(target, int) and 0 <= target < len(s.tasks):
        # spec: thread.owner
        return s, "False" if s.tasks[target].state in finished else "LoopError"
    # spec: thread.refused-unchanged
    return s, "LoopError"


def foreign_targets(s: State, call: str) -> list[int | str]:
    """What `call` from another thread may name in `s`: tasks, held
    continuations, pending callbacks or sockets (one dummy target for the
    calls that take none)."""
    match call:
        case "cancel":
            return list(range(len(s.tasks)))
        case "resume":
            return [w.tid for w in s.waiters if w.kind == THREAD]
        case "withdraw":
            pending = [tm.call for tm in s.timers if tm.call >= 0]
            return [*pending, *(~i for i in s.idle if i < 0)]
        case "close_socket":
            return [k.name for k in s.sockets if not k.closed]
        case "close":
            return [w.target for w in s.waiters if w.kind in (READ, WRITE)]
    return [0]
