"""The loop's lifecycle besides `run`: `run_forever` and `stop`, `shutdown`
and `close` (spec/05-loop.md: loop.stop, loop.stop.pending, loop.shutdown,
loop.close, loop.close.refuses).

Like `run` (refloop.model.entry), `run_forever` and `shutdown` iterate
until they return, or until their poll would wait for the environment (a
peer, the clock, a thread) to act: "blocks", where the stateful test stops
the real loop. Their outcomes are named as `run`'s: "stopped", "done",
"blocks", "escaped" (a callback's BaseException), or the name of the error
that escaped or that refused the call ("LoopError", "ValueError",
"HandlerInterrupt").
"""

from __future__ import annotations

import math

from .events import Event, event
from .handlers import interrupts
from .programs import (
    EndCancelScope,
    EndMoveOnAfter,
    MoveOnAfter,
    OnClose,
    OpenCancelScope,
    Program,
)
from .queries import ModelError, is_ready
from .state import DONE, FAILED, State
from .transitions import _poll_timeout, cancel, run_once

__all__ = [
    "CLOSED_REFUSES",
    "close",
    "close_raises",
    "refuses",
    "run_forever",
    "shutdown",
    "stop",
]

# As refloop.model.entry's: more iterations than any generated program
# needs.
_MAX_ITERATIONS = 500

Outcome = tuple[State, tuple[Event, ...], str]

# The doors a closed loop refuses with LoopError, changing nothing
# (loop.close.refuses); its `stop` and `close` do nothing.
CLOSED_REFUSES = (
    "spawn",
    "run_once",
    "run",
    "run_forever",
    "shutdown",
    "call_later",
    "call_when_idle",
    "call_soon_threadsafe",
    "resume",
)


def refuses(s: State, door: str) -> bool:
    """Whether the loop refuses `door` (one of CLOSED_REFUSES, or `stop`,
    `close`): a closed loop refuses those, and nothing else.

    post: __return__ == (s.closed and door in CLOSED_REFUSES)
    """
    # spec: loop.close.refuses
    return s.closed and door in CLOSED_REFUSES


def stop(s: State) -> State:
    """`loop.stop()`, between iterations or from a callback: kept until a
    `run_forever` honours it; nothing on a closed loop.

    post: __return__.stopping == (s.stopping or not s.closed)
    """
    if s.closed:
        return s
    # spec: loop.stop.pending
    return s._replace(stopping=True)


def _waits(s: State, timeout: float | None) -> bool:
    """Whether a poll with `timeout` would wait for the environment."""
    return timeout != 0 and not (s.posted or any(is_ready(s, w) for w in s.waiters))


def run_forever(s: State) -> Outcome:
    """`loop.run_forever()`: iterations until a stop request is honoured
    after the iteration it was made in ("stopped"), until a BaseException
    escapes one, or until its poll would wait ("blocks"). A request made
    before runs one iteration whose poll does not wait. Whatever ends it,
    no request is left.

    raises: ModelError
    """
    if s.closed:
        # spec: loop.close.refuses
        return s, (), "LoopError"
    events: list[Event] = []
    for _ in range(_MAX_ITERATIONS):
        # spec: loop.stop.pending
        timeout = 0 if s.stopping else None
        wait = _poll_timeout(s, timeout)
        if _waits(s, wait):
            events.append(event.Poll(wait))
            return s._replace(stopping=False), tuple(events), "blocks"
        before = s
        s, ran = run_once(s, timeout)
        events += ran
        ended = interrupts(before, s)
        if ended is not None:
            return s._replace(stopping=False), tuple(events), ended
        if s.stopping:
            # spec: loop.stop
            return s._replace(stopping=False), tuple(events), "stopped"
    raise ModelError(f"run_forever() did not settle in {_MAX_ITERATIONS} iterations")


def _unfinished(s: State) -> list[int]:
    return [t.tid for t in s.tasks if t.state not in (DONE, FAILED)]


def shutdown(s: State, grace: float) -> Outcome:
    """`loop.shutdown(grace)`: cancel every unfinished task, oldest first,
    and iterate until none is left or `grace` ticks have passed by the
    loop's clock ("done": the tasks left are those still unfinished), at
    least once; each poll waits at most until the grace period ends. A
    NaN or negative grace is refused ("ValueError"), as is a closed loop
    ("LoopError"), and nothing changes.

    raises: ModelError
    """
    if grace != grace or grace < 0:
        # spec: loop.shutdown
        return s, (), "ValueError"
    if s.closed:
        # spec: loop.close.refuses
        return s, (), "LoopError"
    tasks = _unfinished(s)
    if not tasks:
        return s, (), "done"
    # spec: loop.shutdown
    for tid in tasks:
        s = cancel(s, tid)
    deadline = s.now + grace
    events: list[Event] = []
    for _ in range(_MAX_ITERATIONS):
        limit = deadline - s.now if math.isfinite(deadline) else math.inf
        wait = _poll_timeout(s, limit)
        if _waits(s, wait):
            events.append(event.Poll(wait))
            return s, tuple(events), "blocks"
        before = s
        s, ran = run_once(s, limit)
        events += ran
        ended = interrupts(before, s)
        if ended is not None:
            return s, tuple(events), ended
        if not _unfinished(s) or s.now >= deadline:
            # spec: loop.shutdown.report
            return s, tuple(events), "done"
    raise ModelError(f"shutdown() did not settle in {_MAX_ITERATIONS} iterations")


def _cleanups(done: Program) -> list[str]:
    """The OnClose markers among the operations `done`, outside any block
    (one inside a block may have been skipped by the block's jump)."""
    depth, found = 0, []
    for op in done:
        if isinstance(op, MoveOnAfter | OpenCancelScope):
            depth += 1
        elif isinstance(op, EndMoveOnAfter | EndCancelScope):
            depth -= 1
        elif isinstance(op, OnClose) and depth == 0:
            found.append(op.raises)
    return found


def close_raises(s: State) -> tuple[str, int]:
    """What `loop.close()` does with the cleanups that misbehave (OnClose)
    of the tasks it ends, oldest first: what it raises once the loop is
    closed ("KeyboardInterrupt", the first task's whose cleanup raised one,
    or "None") and how many cleanups it logs (every other misbehaving one).
    A task's cleanup is the last OnClose it has passed outside any block; a
    task that never started has none. Closing a closed loop does neither.

    post: __return__[1] >= 0
    """
    if s.closed:
        return "None", 0
    raised, logged = "None", 0
    for t in s.tasks:
        if t.state in (DONE, FAILED):
            continue
        passed = _cleanups(t.program[: t.pc])
        if not passed:
            continue
        # spec: loop.close.raises
        if passed[-1] == "interrupt" and raised == "None":
            raised = "KeyboardInterrupt"
        else:
            logged += 1
    return raised, logged


def close(s: State) -> State:
    """`loop.close()`: every waiter (a primitive's too: its queue lets go of
    the task), timer, idle call and posted call is dropped, every unfinished
    task fails with LoopError, unreported, its pool's jobs are forgotten
    (what they post is refused), and the loop is closed; closing twice
    changes nothing (a closed loop has nothing left to drop). Sockets stay
    open, and a lock held by a task stays held (its owner has failed), as
    the primitives are the user's.

    post: __return__.closed
    post: not __return__.run_queue and not __return__.waiters
    post: not __return__.timers and not __return__.idle and not __return__.posted
    post: not __return__.orphans
    post: __return__.reported == s.reported
    """
    # spec: loop.close
    tasks = tuple(
        t
        if t.state in (DONE, FAILED)
        else t._replace(
            state=FAILED,
            error="LoopError",
            throw=None,
            cancelling=False,
            cancel_scope=-1,
            throw_scope=-1,
            scopes=(),
            fired=(),
            streak=0,
        )
        for t in s.tasks
    )
    return s._replace(
        tasks=tasks,
        run_queue=(),
        waiters=(),
        timers=(),
        idle=(),
        posted=(),
        handed=(),
        stopping=False,
        closed=True,
        # spec: thread.pool-shutdown
        orphans=(),
    )
