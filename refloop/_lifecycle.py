"""How a loop runs to an end and closes: the bodies of `Loop.run`,
`run_forever`, `stop`, `shutdown` and `close` (spec: loop.*).

`Loop` keeps these methods, their signatures and their docstrings, and calls
the functions here; they are kept apart so that refloop/_loop.py holds the
tasks and the iteration and nothing else. They own no state: the flags they
read and write (`_running`, `_stopping`, `_closed`, `_interrupted`) are the
loop's, created and described in `Loop.__init__`; only the functions here
write them.

Rules this module keeps:

1. Every way of running iterations enters the loop first (`enter`:
   not closed, not nested, the owner thread, no other loop running in this
   thread) and leaves it however it ends.
2. `run` raises the deadlock only when nothing can ever make progress: no
   runnable task, waiter, timer, posted call, call in a thread that a task
   still waits for (an orphan resumes nobody: `waited_for`), or
   continuation held outside the loop (`Loop._held_outside`, which a broken
   loop in refloop.testing overrides).
3. `close` leaves nothing behind: the thread bridge, the waiters, the timers,
   the run queue and the tasks are emptied before the selector is closed; a
   task that refuses to end is logged, and the first Ctrl-C among them is
   raised once everything is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from . import _refuse
from ._errors import LoopError
from ._runtime import _loop_closed, _set_running, running_loop_or_none
from ._shutdown import check_grace, wind_down
from ._sigint import Interrupt

if TYPE_CHECKING:
    from ._loop import Loop
    from ._task import Task

__all__ = ["close", "enter", "leave", "run", "run_forever", "shutdown", "stop"]

T = TypeVar("T")

log = logging.getLogger("refloop")


def enter(loop: Loop, what: str) -> None:
    """Begin running iterations of `loop` (`what` names the caller), or
    refuse, changing nothing."""
    # spec: loop.close.refuses
    if loop._closed:
        raise LoopError(f"{loop!r} is closed")
    if loop._running:
        # spec: loop.no-nesting
        raise LoopError(f"{loop!r} is already running; {what} cannot nest")
    loop._check_thread(what)
    previous = _set_running(loop)
    if previous is not None:
        _set_running(previous)
        raise LoopError(f"another loop, {previous!r}, is running in this thread")
    loop._running = True


def leave(loop: Loop) -> None:
    """Stop running iterations of `loop`, however they ended."""
    loop._running = False
    _set_running(None)


def run_forever(loop: Loop) -> None:
    """`Loop.run_forever`: run iterations until `stop()` is called."""
    enter(loop, "run_forever()")
    try:
        # spec: loop.stop
        while True:
            # spec: loop.stop.pending
            loop._iterate(0 if loop._stopping else None)
            if loop._stopping:
                break
    finally:
        loop._stopping = False
        leave(loop)


def stop(loop: Loop) -> None:
    """`Loop.stop`: ask `run_forever` to return once the iteration ends."""
    loop._check_thread("stop()")
    loop._stopping = True


def run(loop: Loop, coro: Coroutine[Any, Any, T], grace: float) -> T:
    """`Loop.run`: run `coro` as the main task until it finishes."""
    grace = check_grace(grace, coro)
    # spec: thread.owner
    _refuse.spawn(loop, coro, "run")
    if loop._running or running_loop_or_none() is not None:
        coro.close()
        # spec: loop.no-nesting
        raise LoopError(f"{loop!r}.run() cannot be called inside a running loop")
    # spec: loop.run
    main = loop.spawn(coro, name="main")
    main._expect()
    enter(loop, "run()")
    loop._interrupted = False
    threads = loop._threads
    interrupt = Interrupt(threads.notify, threads.wakeup_fd())
    interrupt.install()
    try:
        while not main.done():
            if not (
                loop._ready
                or loop._waiters.count
                or len(loop._timers)
                or threads.posted
                # spec: thread.run.orphan
                or threads.waited_for()
                or loop._held_outside()
            ):
                # spec: loop.run.deadlock
                raise LoopError(
                    f"deadlock: {main!r} has not finished, but no task is "
                    f"runnable and none waits on a socket; waiting tasks: "
                    f"{loop.tasks()!r}"
                )
            loop._iterate(None)
            if interrupt.interrupted:
                loop._interrupted = True
                # spec: loop.sigint
                threads.drain()  # the handler's wakeup, or the polls spin
                _wind_down(loop, grace)
                raise KeyboardInterrupt
    finally:
        interrupt.restore()
        if interrupt.interrupted and not loop._interrupted:
            # spec: loop.sigint (a Ctrl-C in an iteration that a
            # BaseException ended: its wakeup is consumed all the same)
            threads.drain()
        leave(loop)
    return main.result()


def _wind_down(loop: Loop, grace: float) -> None:
    """Cancel every task, let them clean up for `grace` seconds, then close
    the sockets they were waiting on (spec: loop.sigint)."""
    registered = loop._waiters.sockets()
    wind_down(loop, grace)
    for sock in registered:
        loop.close_socket(sock)


def shutdown(loop: Loop, grace: float) -> list[Task[Any]]:
    """`Loop.shutdown`: cancel every unfinished task and let them clean up."""
    grace = check_grace(grace)
    enter(loop, "shutdown()")
    try:
        return wind_down(loop, grace)
    finally:
        leave(loop)


def close(loop: Loop) -> None:
    """`Loop.close`: forget every waiter, end every task, close the selector."""
    if loop._closed:
        return
    if loop._running:
        raise LoopError(f"{loop!r} is running; it cannot close itself")
    # spec: thread.refused-unchanged
    loop._check_thread("close()")
    loop._closed = True
    _loop_closed(loop)
    # spec: loop.close
    for task in loop._table.view():
        k = task._waiting_on()
        if k is not None:
            # Let go of the task wherever it is parked: a primitive's queue
            # or a holder's list, as cancel.waiting does.
            try:
                loop._unpark(k)
            except Exception:
                # spec: loop.close.raises
                log.exception("undoing the parking of %r failed", task)
    loop._threads.close()
    loop._waiters.close()
    loop._timers.close()
    loop._ready.clear()
    leftover = loop._table.close()
    interrupt: BaseException | None = None
    for task in leftover:
        try:
            task._abandon(LoopError(f"{loop!r} closed before {task!r} finished"))
        except (KeyboardInterrupt, SystemExit) as err:
            # spec: loop.close.raises
            if interrupt is None:
                interrupt = err
                continue
            log.exception("%r did not stop when its loop closed", task)
        except BaseException:
            # spec: loop.close.raises
            log.exception("%r did not stop when its loop closed", task)
    loop._selector.close()
    if interrupt is not None:
        raise interrupt
