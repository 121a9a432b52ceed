"""The model's state: immutable values, compared and hashed structurally.

Everything here is a NamedTuple of plain values, so a state can be hashed,
stored in a set by the model checker and printed as pasteable Python.
Registrations carry no sequence numbers: `State.waiters` is kept oldest
first, which is all the loop's ordering rules need, and keeps the state space
finite.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from .faults import Fault
from .programs import Program
from .syncops import Channel

__all__ = [
    "AGAIN",
    "BASE",
    "CANCEL",
    "DONE",
    "DROP",
    "ERROR",
    "FAILED",
    "JOIN",
    "OK",
    "POOL",
    "READ",
    "RUNNABLE",
    "STATE_KEY",
    "STOP",
    "TASK_FIXED",
    "TASK_KEY",
    "THREAD",
    "WAITING",
    "WITHDRAW",
    "WRITE",
    "Callback",
    "Sock",
    "State",
    "Task",
    "Timer",
    "Waiter",
    "initial",
]

RUNNABLE: Final = "runnable"
WAITING: Final = "waiting"
DONE: Final = "done"
FAILED: Final = "failed"

READ: Final = "read"
WRITE: Final = "write"
JOIN: Final = "join"
THREAD: Final = "thread"
POOL: Final = "pool"


class Task(NamedTuple):
    tid: int
    program: Program
    pc: int = 0
    state: str = RUNNABLE
    # Bytes of the SendAll at pc already sent.
    offset: int = 0
    # Socket operations completed since the task last suspended (op.budget).
    streak: int = 0
    log: tuple[object, ...] = ()
    # While runnable: the error it resumes with (from close or cancel), if
    # any (the loop's Task._throw).
    throw: str | None = None
    # Once failed: the name of the error.
    error: str | None = None
    # Cancelled while runnable: Cancelled is raised at the next suspension.
    cancelling: bool = False
    # The timeout scope (the pc of its MoveOnAfter) that the requested
    # Cancelled (cancelling) and the one it resumes with (throw) carry; -1
    # for a plain cancel().
    cancel_scope: int = -1
    throw_scope: int = -1
    # Open scopes (the pc of each MoveOnAfter or OpenCancelScope), innermost
    # last, and the timeout scopes whose timer has fired.
    scopes: tuple[int, ...] = ()
    fired: tuple[int, ...] = ()
    # Invariant: each (shield, scope) names an open shielded CancelScope, at
    # most once, and the widest request for a scope outside it (scope, as
    # cancel_scope) made since it went up (cancel.shield, cancel.shield.merge).
    held: tuple[tuple[int, int], ...] = ()


# The fields `spawn` sets once and nothing changes; a task's other fields,
# its key, are what tells two tasks of one run apart (the model checker
# compares and numbers states by their keys: refloop.check.search.tables).
# Listed by name so that a field added to Task fails test_check's
# test_task_key_names_every_field until it is listed here.
TASK_FIXED: Final = ("tid", "program")
TASK_KEY: Final = (
    "pc",
    "state",
    "offset",
    "streak",
    "log",
    "throw",
    "error",
    "cancelling",
    "cancel_scope",
    "throw_scope",
    "scopes",
    "fired",
    "held",
)


class Sock(NamedTuple):
    """A socket as the loop sees it. For streams: bytes the peer sent that the
    loop has not received (inbound), bytes the loop sent that the peer has not
    read (outbound, at most State.capacity), and whether the peer has closed
    its sending side. For listeners: connections waiting to be accepted."""

    name: str
    listener: bool = False
    inbound: bytes = b""
    outbound: bytes = b""
    peer_closed: bool = False
    closed: bool = False
    # Closed with input unread: the kernel reset the connection.
    reset: bool = False
    backlog: int = 0
    accepted: int = 0
    # Faults the environment queued for the next system calls on this
    # socket, oldest first (env.fault; refloop.model.faults).
    faults: tuple[Fault, ...] = ()


class Waiter(NamedTuple):
    """A parked task: on (socket, read|write), joining task `target`,
    (kind "thread", target 0) handed to another thread, or (kind "pool",
    target n) awaiting `run_in_thread` job n."""

    kind: str
    target: str | int
    tid: int


class Timer(NamedTuple):
    """A sleeping task's wakeup at `when` (in ticks; TimerHandle.when;
    math.inf for a timer that never fires, timer.infinite)."""

    when: float
    tid: int
    # For a timeout scope's timer, the pc of its MoveOnAfter; -1 for sleep.
    scope: int = -1
    # For a callback's timer (call_later from outside the tasks), its number
    # in State.calls, and tid is -1; -1 for a task's timer.
    call: int = -1


# What a callback made with call_later does when it runs (Callback.effect).
OK: Final = "ok"
ERROR: Final = "error"  # raises an Exception (timer.callback-error)
BASE: Final = "base"  # raises a BaseException (timer.callback-base-exception)
CANCEL: Final = "cancel"  # cancels task `target`, changing the loop's queues
AGAIN: Final = "again"  # makes a new idle call (one that returns)
WITHDRAW: Final = "withdraw"  # cancels the handle of callback `target`
STOP: Final = "stop"  # calls loop.stop() (loop.stop, loop.stop.pending)
# Not one the environment schedules: the post of a pool job whose task no
# longer waits for it (job `target`), which the loop drops (thread.run-cancel).
DROP: Final = "drop"


class Callback(NamedTuple):
    """A callback the environment scheduled with `call_later`."""

    effect: str
    target: int = -1


class State(NamedTuple):
    tasks: tuple[Task, ...]
    run_queue: tuple[int, ...]
    waiters: tuple[Waiter, ...]
    sockets: tuple[Sock, ...]
    # Tasks whose failure nobody joined, in the order they were reported.
    reported: tuple[int, ...] = ()
    budget: int = 32
    capacity: int = 8
    # The clock, in ticks; only the environment's `advance` moves it.
    now: int = 0
    # Pending timers in the order they were scheduled (ties fire in this
    # order, so no sequence numbers are needed).
    timers: tuple[Timer, ...] = ()
    # Tasks waiting for the loop to be idle, in the order they asked; ~n
    # (negative) for callback n made with call_when_idle.
    idle: tuple[int, ...] = ()
    # Tasks whose continuation another thread has posted, not yet run; ~n
    # for callback n that another thread posted with call_soon_threadsafe.
    posted: tuple[int, ...] = ()
    # Synchronisation (refloop.model.sync): each held lock with its owner,
    # the events set, the channels declared.
    locks: tuple[tuple[str, int], ...] = ()
    set_events: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    # Items handed to woken receivers that have not run yet: (tid, item).
    handed: tuple[tuple[int, int], ...] = ()
    # The callbacks scheduled so far, by number (Timer.call), and the numbers
    # of those that have run, in the order they ran.
    calls: tuple[Callback, ...] = ()
    called: tuple[int, ...] = ()
    # Tasks whose outcome someone will observe (run's main task): a failure
    # of theirs is raised by run, not reported (task.fail.report).
    observed: tuple[int, ...] = ()
    # A stop() not yet honoured by run_forever (loop.stop.pending), and
    # whether the loop is closed (loop.close).
    stopping: bool = False
    closed: bool = False
    # run_in_thread jobs submitted so far (the next one's number), and those
    # still running in the pool whose task no longer waits for them: their
    # post will be dropped (thread.run-cancel), and they resume nobody
    # (loop.run.deadlock).
    jobs: int = 0
    orphans: tuple[int, ...] = ()


# A state's fields but its tasks: with each task's TASK_KEY, a state's key
# (as TASK_KEY above; test_check's test_state_key_names_every_field).
STATE_KEY: Final = (
    "run_queue",
    "waiters",
    "sockets",
    "reported",
    "budget",
    "capacity",
    "now",
    "timers",
    "idle",
    "posted",
    "locks",
    "set_events",
    "channels",
    "handed",
    "calls",
    "called",
    "observed",
    "stopping",
    "closed",
    "jobs",
    "orphans",
)


def initial(
    streams: tuple[str, ...] = (),
    listeners: tuple[str, ...] = (),
    *,
    budget: int = 32,
    capacity: int = 8,
) -> State:
    """A loop with no tasks, the given open sockets, and its parameters."""
    if budget < 1 or capacity < 1:
        raise ValueError(f"budget and capacity must be positive: {budget}, {capacity}")
    sockets = tuple(Sock(n) for n in streams) + tuple(
        Sock(n, listener=True) for n in listeners
    )
    if len({s.name for s in sockets}) != len(sockets):
        raise ValueError(f"socket names must be distinct: {streams} {listeners}")
    return State((), (), (), sockets, (), budget, capacity)
