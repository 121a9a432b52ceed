"""The loop's entry points besides run_once: `run(main)` and the deadlock
verdict it reaches (loop.run.deadlock, prop.no-deadlock).
"""

from __future__ import annotations

from collections.abc import Callable

from .events import Event, event
from .handlers import interrupts
from .programs import Program
from .queries import ModelError, is_ready
from .sigint import ctrl_c
from .state import DONE, FAILED, POOL, READ, THREAD, WRITE, State, Timer, Waiter
from .syncops import SYNC_KINDS
from .transitions import _poll_timeout, run_once, spawn

__all__ = ["MAX_RUN_ITERATIONS", "deadlocked", "open_world", "run"]


def open_world(entry: Waiter | Timer) -> bool:
    """Whether `run()`'s environment can resume the task parked on `entry`:
    a peer, the clock, a thread, a running pool job or a primitive's holder
    can; only another task's finishing resumes a join (loop.run.deadlock).
    A pool job whose task no longer waits for it (State.orphans) is no
    waiter: it resumes nobody."""
    return isinstance(entry, Timer) or entry.kind in (
        READ,
        WRITE,
        THREAD,
        POOL,
        *SYNC_KINDS,
    )


# More iterations than any generated program needs: a run longer than this
# is a model error, not a verdict.
MAX_RUN_ITERATIONS = 500
# What `run(at=)` counts as a step: a task's step, a timer that fires, an
# idle call (the events the real loop traces as each begins).
STEPS = (event.Run, event.Fire, event.Idle)


def deadlocked(
    s: State, outside: Callable[[Waiter | Timer], bool] = open_world
) -> bool:
    """No task can ever be resumed, while one has not finished: nothing is
    runnable, no idle call or posted call is pending, and nothing outside
    the loop's thread can resume a parked task: `outside(entry)` says
    whether something can still resume the task parked on `entry` (a
    waiter, or a timer). In `run()`'s open world (`open_world`, the
    default) a peer can resume a socket waiter, the clock a timer, a thread
    a continuation it holds, and whoever holds a synchronisation
    primitive's queue its waiters (the loop cannot tell who else may still
    set, release or send); a task joining another is resumable only
    through that one. A closed system's checker passes what its own
    environment can still do (prop.no-deadlock). This is the definition
    loop.run.deadlock gives.

    post: not __return__ or not s.run_queue
    """
    # spec: loop.run.deadlock
    unfinished = any(t.state not in (DONE, FAILED) for t in s.tasks)
    live = (
        s.run_queue
        or s.idle
        or s.posted
        or any(outside(tm) for tm in s.timers)
        or any(outside(w) for w in s.waiters)
    )
    return unfinished and not live


def run(
    s: State,
    program: Program,
    interrupt: bool = False,
    grace: float = 0,
    at: int | None = None,
) -> tuple[State, tuple[Event, ...], str]:
    """`loop.run(main)`: spawn `program` as the main task and iterate until
    it finishes ("done", or the name of its error, which run raises and
    nobody is told of otherwise), until no task can be resumed
    ("deadlock": LoopError), until a callback's BaseException escapes
    ("escaped") or a task's KeyboardInterrupt ("HandlerInterrupt"), or
    until the poll would wait for the environment (a peer, the clock, a
    thread) to act: "blocks", where the stateful test stops
    the real run (the ShimSelector's WouldBlockForever). With `interrupt`,
    Ctrl-C arrives in that poll instead (refloop.model.sigint, with
    `grace`). With `at`, Ctrl-C arrives instead as the step of that number
    begins (0 the first of the run; a step is a task's step, a timer that
    fires or an idle call, whichever task's), if run gets there before its
    poll would wait: the loop acts on it only once that iteration is over
    (loop.sigint), so a Ctrl-C anywhere in an iteration, in a task or in a
    callback, has that one outcome.

    raises: ModelError
    """
    if at is not None and at < 0:
        raise ModelError(f"run(at={at!r}): a step number is >= 0")
    if s.closed:
        # spec: loop.close.refuses
        return s, (), "LoopError"
    s, main = spawn(s, program)
    s = s._replace(observed=(*s.observed, main))
    events: list[Event] = [event.Spawn(main)]
    steps = 0
    for _ in range(MAX_RUN_ITERATIONS):
        t = s.tasks[main]
        if t.state in (DONE, FAILED):
            # spec: loop.run
            return s, tuple(events), t.error or "done"
        if deadlocked(s):
            return s, tuple(events), "deadlock"
        timeout = _poll_timeout(s)
        if timeout != 0 and not (s.posted or any(is_ready(s, w) for w in s.waiters)):
            if interrupt:
                s, ran, outcome = ctrl_c(s, grace)
                return s, (*events, *ran), outcome
            events.append(event.Poll(timeout))
            return s, tuple(events), "blocks"
        before = s
        s, ran = run_once(s)
        steps += sum(isinstance(e, STEPS) for e in ran)
        if at is not None and steps > at:
            # spec: loop.sigint (Ctrl-C in a step or callback: the iteration ends)
            s, ran, outcome = ctrl_c(before, grace)
            return s, (*events, *ran), outcome
        events += ran
        ended = interrupts(before, s)
        if ended is not None:
            # spec: timer.callback-base-exception
            # spec: cont.handler-base-exception
            return s, tuple(events), ended
    raise ModelError(f"run() did not settle in {MAX_RUN_ITERATIONS} iterations")
