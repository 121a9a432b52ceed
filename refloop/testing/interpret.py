"""Model programs interpreted on a real loop: one public refloop call per
operation, with the operation's result appended to the task's log. Scopes
(`move_on_after` blocks, CancelScopes) are entered and left by hand, so that
a scope that absorbs its Cancelled resumes the program after its end, as
the model does."""

from __future__ import annotations

import signal
from functools import partial
from typing import TYPE_CHECKING, Any, assert_never

from .. import _ops as ops
from .._cancelscope import CancelScope
from .._errors import Cancelled, LoopError
from .._runtime import current_task
from .._scopes import move_on_after
from .._suspend import Continuation, suspend
from .._threads import run_in_thread
from ..model import (
    Accept,
    AwaitThread,
    Call,
    CancelScopes,
    Close,
    EndCancelScope,
    EndMoveOnAfter,
    Event,
    InThread,
    Join,
    MoveOnAfter,
    OnClose,
    Op,
    OpenCancelScope,
    Recv,
    Send,
    SendAll,
    Sleep,
    Suspend,
    SyncCall,
    WaitIdle,
    YieldNow,
    event,
)
from ..model.entry import MAX_RUN_ITERATIONS
from ..model.programs import matching_end
from .bound import Unsettled, bounded
from .calls import CallbackInterrupt
from .lifecycle import misbehave, raising_handler
from .pool import Job, WrongOutcome
from .shim import WouldBlockForever

if TYPE_CHECKING:
    from .harness import Harness

__all__ = [
    "RUN_POLLS",
    "Scope",
    "UnknownTask",
    "cancel_scope",
    "hand_to_thread",
    "interpret",
    "run_main",
]

# A block a program opened: a timeout scope or a CancelScope.
Scope = move_on_after | CancelScope


# More polls than the model's run makes in its most iterations (each
# iteration polls at most once): a real run past this is stopped as
# "unsettled", where the model would have stopped with a ModelError.
RUN_POLLS = MAX_RUN_ITERATIONS + 100


class UnknownTask(LookupError):
    """A program joined a task number that does not exist (yet)."""


async def interpret(
    harness: Harness, program: tuple[Op, ...], log: list[object]
) -> None:
    """Run `program`, one refloop call per operation. Scopes are entered
    and left by hand, so that a scope that absorbs its Cancelled can resume
    the program after its end. Past an OnClose, the loop's closing of the
    coroutine meets that cleanup (loop.close.raises)."""
    cleanup: list[str] = []
    try:
        await _interpret(harness, program, log, cleanup)
    except GeneratorExit:
        if cleanup:
            await misbehave(cleanup[-1])
        raise


async def _interpret(
    harness: Harness, program: tuple[Op, ...], log: list[object], cleanup: list[str]
) -> None:
    scopes: list[tuple[int, Scope]] = []
    harness.open_scopes[current_task().tid] = scopes
    pc = 0
    while pc < len(program):
        op = program[pc]
        try:
            match op:
                case OnClose() if not scopes:  # inside a block: ignored
                    cleanup.append(op.raises)
                case OnClose():
                    pass
                case MoveOnAfter():
                    scope = move_on_after(op.ticks)
                    scope.__enter__()
                    scopes.append((pc, scope))
                    harness.scopes[scope] = pc
                case EndMoveOnAfter():
                    _, timer_scope = scopes.pop()
                    assert isinstance(timer_scope, move_on_after)
                    timer_scope.__exit__(None, None, None)
                    log.append(("timeout", timer_scope.fired))
                case OpenCancelScope():
                    block = harness.sync.kinds.cancel_scope(shield=op.shield)
                    block.__enter__()
                    scopes.append((pc, block))
                case EndCancelScope():
                    _, ending = scopes.pop()
                    ending.__exit__(None, None, None)
                    log.append(("scope", False))
                case _:
                    await _perform(harness, op, log)
        except Cancelled as cancelled:
            mine = [
                i for i, (_, scope) in enumerate(scopes) if scope is cancelled.scope
            ]
            if not mine:
                _leave_all(scopes, cancelled)
                raise
            depth = mine[0]
            opened, absorbing = scopes[depth]
            for _, inner in reversed(scopes[depth + 1 :]):
                inner.__exit__(type(cancelled), cancelled, None)
            del scopes[depth:]
            absorbed = absorbing.__exit__(type(cancelled), cancelled, None)
            assert absorbed, "a scope must absorb its own Cancelled"
            log.append(
                ("scope" if isinstance(absorbing, CancelScope) else "timeout", True)
            )
            pc = matching_end(program, opened) + 1
            continue
        except BaseException as error:
            _leave_all(scopes, error)
            raise
        pc += 1


async def _perform(harness: Harness, op: Call, log: list[object]) -> None:
    """One operation, with the public refloop call of the same name (the
    socket ones from the loop's own `operations`, if it brings them:
    refloop.testing.protocol)."""
    io: Any = getattr(harness.loop, "operations", ops)
    match op:
        case Recv():
            log.append(await io.recv(harness.sock(op.sock), op.n))
        case Send():
            log.append(await io.send(harness.sock(op.sock), op.data))
        case SendAll():
            await io.sendall(harness.sock(op.sock), op.data)
            log.append(len(op.data))
        case Accept():
            listener = harness.sock(op.sock)
            conn, _ = await io.accept(listener)
            name = f"{op.sock}.{harness.accepted[op.sock]}"
            harness.accepted[op.sock] += 1
            harness.socks[name] = conn
            harness.peers[name] = harness.pending[op.sock].pop(0)
            log.append(name)
        case Close():
            ops.close(harness.sock(op.sock))
        case YieldNow():
            await ops.yield_now()
        case Sleep():
            await ops.sleep(op.ticks)
        case WaitIdle():
            await ops.wait_idle()
        case AwaitThread():
            await suspend(partial(hand_to_thread, harness))
        case InThread():
            job = Job()
            got = await run_in_thread(job)
            if got is not job:
                raise WrongOutcome(f"{job!r} resumed its task with {got!r}")
        case Suspend():
            await suspend(raising_handler(op.raises))
        case Join():
            if not 0 <= op.tid < len(harness.tasks):
                raise UnknownTask(f"no task numbered {op.tid} yet")
            await harness.tasks[op.tid].join()
            log.append(("join", op.tid))
        case SyncCall():
            await harness.sync.perform(op, log)
        case CancelScopes():
            for tid, opened in op.targets:
                cancel_scope(harness, tid, opened)
        case _:
            assert_never(op)


def cancel_scope(harness: Harness, tid: int, opened: int) -> None:
    """`scope.cancel()` on the CancelScope task `tid` opened at pc `opened`,
    if it is open now, or `task.cancel()` for pc -1 (as the model's
    CancelScopes does)."""
    if opened == -1:
        if 0 <= tid < len(harness.tasks):
            harness.tasks[tid].cancel()
        return
    for pc, scope in harness.open_scopes.get(tid, []):
        if pc == opened and isinstance(scope, CancelScope):
            scope.cancel()


def hand_to_thread(harness: Harness, k: Continuation) -> None:
    tid = k.task.tid
    harness.held[tid] = k
    k.on_cancel = lambda: harness.held.pop(tid, None)


def _leave_all(scopes: list[tuple[int, Scope]], error: BaseException) -> None:
    """Leave every open scope, innermost first, as `with` would on `error`."""
    while scopes:
        _, scope = scopes.pop()
        scope.__exit__(type(error), error, None)


def run_main(
    harness: Harness,
    program: tuple[Op, ...],
    interrupt: bool = False,
    at: int | None = None,
) -> tuple[list[Event], str]:
    """`loop.run(main)` for `program` as main, stopped where its poll
    would wait for the environment: its events (polls among the loop's
    trace) and its outcome, as refloop.model.entry.run names them. With
    `interrupt`, SIGINT is raised in that poll instead (loop.sigint). With
    `at`, SIGINT is raised as the task step of that number begins (0 the
    first of the run), if that comes first: once in a run."""
    harness.trace.clear()
    log: list[object] = []
    harness.main = (program, log)
    # The interest set is compared at run_once's poll only: within run,
    # the waiters change between polls (spec: io.interest).
    harness.selector.expect = None
    harness.selector.stop_on_wait = True
    polls = 0
    sent = False

    def ctrl_c() -> None:
        # One Ctrl-C a run: a second would raise at once (loop.sigint).
        nonlocal sent
        if not sent:
            sent = True
            signal.raise_signal(signal.SIGINT)

    def on_poll(timeout: float | None) -> None:
        nonlocal polls
        polls += 1
        if polls > RUN_POLLS:
            # A loop that polls on and on without settling (a stale
            # registration keeps a socket ready, say) is stopped, not
            # waited for: the model settles far sooner.
            raise Unsettled
        harness.trace.append(event.Poll(timeout))

    steps = 0

    def on_step() -> None:
        nonlocal steps
        steps += 1
        if at is not None and steps == at + 1:
            ctrl_c()

    harness.selector.on_poll = on_poll
    harness.on_step = on_step
    if interrupt:
        harness.selector.on_wait = ctrl_c
    harness.escaped = False
    run = getattr(harness.loop, "run")  # noqa: B009 (not in LoopUnderTest)
    try:
        with bounded():
            run(interpret(harness, program, log), grace=0)
        outcome = "done"
    except WouldBlockForever:
        outcome = "blocks"
    except Unsettled:
        outcome = "unsettled"
    except CallbackInterrupt:
        outcome = "escaped"
    except LoopError as error:
        outcome = "deadlock" if "deadlock" in str(error) else "LoopError"
    except BaseException as error:
        outcome = type(error).__name__
    finally:
        harness.selector.stop_on_wait = False
        harness.selector.on_poll = None
        harness.selector.on_wait = None
        harness.on_step = None
    harness.main = None
    return list(harness.trace), outcome
