"""Run model programs on a real loop over real sockets, and observe it.

The harness owns both ends of every socket: the loop's end (a ShimSocket) and
the peer's end, which the test drives. Stream names `A`, `B`, ... are
socketpairs; listener names `L`, ... are TCP listeners on 127.0.0.1 whose
k-th accepted connection is named `L.k`, as in the model.

The harness knows nothing of the model's rules: it interprets each program
operation with the public refloop call of the same name and reports what the
loop did, in the model's vocabulary, for the test to compare.
"""

from __future__ import annotations

import array
import fcntl
import math
import select
import selectors
import socket
import termios
import threading
from typing import Any, assert_never

from .. import _ops as ops
from .._errors import Cancelled, LoopError
from .._loop import Loop
from .._runtime import current_task
from .._scopes import move_on_after
from .._snapshot import CallView, TaskView
from .._suspend import Continuation, suspend
from .._task import Task
from .._timers import TimerHandle, VirtualClock
from ..model import (
    TRACED,
    Accept,
    Acquire,
    AwaitThread,
    Call,
    Callback,
    ChanClose,
    ChanRecv,
    ChanSend,
    Close,
    EndMoveOnAfter,
    Event,
    Join,
    MoveOnAfter,
    Op,
    Recv,
    Release,
    Send,
    SendAll,
    SetEvent,
    Sleep,
    Sock,
    State,
    Timer,
    Waiter,
    WaitEvent,
    WaitIdle,
    YieldNow,
    event,
)
from ..model import Task as ModelTask
from ..model.programs import matching_end
from .protocol import LoopFactory, LoopUnderTest
from .shim import ShimListener, ShimSelector, ShimSocket, WouldBlockForever
from .sync_harness import DEFAULT_PRIMITIVES, Primitives, SyncObjects

__all__ = ["CallbackInterrupt", "Harness", "UnknownSocket", "UnknownTask"]

# How long the harness waits for the kernel to show what a peer just did.
# Loopback delivery is synchronous on Linux; this only guards against a slow
# machine, and is never reached when the loop and model agree.
_SETTLE = 2.0


class UnknownSocket(LookupError):
    """A program named a socket that does not exist (yet)."""


class UnknownTask(LookupError):
    """A program joined a task number that does not exist (yet)."""


# More polls than the model's run makes in its most iterations
# (refloop.model.entry): a real run past this is stopped as "unsettled".
_RUN_POLLS = 600


class _Unsettled(Exception):
    """Raised from the poll of a run that does not settle."""


# A waiter's direction, as the selector's event it needs.
_EVENT = {"read": selectors.EVENT_READ, "write": selectors.EVENT_WRITE}


class CallbackInterrupt(BaseException):
    """A user's own BaseException, raised by a callback whose effect is
    "base" (timer.callback-base-exception); the harness catches it around
    run_once."""


class _Callback:
    """The callable the harness schedules for model callback `n`: it records
    that it ran, then does what its effect says."""

    def __init__(self, harness: Harness, n: int, callback: Callback) -> None:
        self.harness, self.n, self.callback = harness, n, callback

    def __call__(self) -> None:
        harness, target = self.harness, self.callback.target
        harness.called.append(self.n)
        match self.callback.effect:
            case "error":
                raise ValueError(f"callback {self.n} fails")
            case "base":
                raise CallbackInterrupt(f"callback {self.n} interrupts")
            case "cancel":
                if 0 <= target < len(harness.tasks):
                    harness.tasks[target].cancel()
            case "again":
                harness.call_when_idle(Callback("ok"))
            case "withdraw":
                handle = harness.handles.get(target)
                if handle is not None and target != self.n:
                    handle.cancel()

    def __repr__(self) -> str:
        return f"<callback {self.n} {self.callback.effect}>"


def _pending_bytes(sock: socket.socket) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def _wait_for(sock: socket.socket, flags: int) -> None:
    poller = select.poll()
    poller.register(sock, flags)
    poller.poll(_SETTLE * 1000)


class Harness:
    def __init__(
        self,
        loop_factory: LoopFactory = Loop,
        *,
        streams: tuple[str, ...] = ("A", "B"),
        listeners: tuple[str, ...] = ("L",),
        budget: int = 3,
        capacity: int = 8,
        channels: tuple[tuple[str, int], ...] = (),
        primitives: Primitives = DEFAULT_PRIMITIVES,
    ) -> None:
        self.selector = ShimSelector()
        # Locks, events and channels by name (spec/11-sync.md).
        self.sync = SyncObjects(primitives, channels)
        # One model tick is one second of this clock.
        self.clock = VirtualClock()
        self.trace: list[Event] = []
        # The program and log of the main task that run is about to spawn.
        self.main: tuple[tuple[Op, ...], list[object]] | None = None
        self.reported: list[int] = []
        self.budget = budget
        self.loop: LoopUnderTest = loop_factory(
            selector=self.selector,
            clock=self.clock,
            budget=budget,
            trace=self._on_trace,
            report=self._on_report,
        )
        self.capacity = capacity
        self.socks: dict[str, socket.socket] = {}
        self.peers: dict[str, socket.socket] = {}
        self.pending: dict[str, list[socket.socket]] = {}
        self.accepted: dict[str, int] = {}
        self.tasks: list[Task[Any]] = []
        self.programs: list[tuple[Op, ...]] = []
        self.logs: list[list[object]] = []
        # The MoveOnAfter pc of every timeout scope the programs opened, and
        # each task's open scopes, innermost last.
        self.scopes: dict[move_on_after, int] = {}
        self.open_scopes: dict[int, list[tuple[int, move_on_after]]] = {}
        # Continuations handed to "another thread" by AwaitThread, by task.
        self.held: dict[int, Continuation] = {}
        # Callbacks run (their numbers, in order) and whether the last
        # run_once ended with a callback's BaseException.
        self.called: list[int] = []
        self.escaped = False
        self.ncalls = 0
        # The handles of timer and idle callbacks, by number.
        self.handles: dict[int, TimerHandle] = {}
        for name in streams:
            mine, theirs = socket.socketpair()
            loop_end = ShimSocket(fileno=mine.detach(), room=capacity)
            loop_end.setblocking(False)
            self._adopt(name, loop_end)
            self.peers[name] = theirs
        for name in listeners:
            listener = ShimListener(
                socket.AF_INET,
                socket.SOCK_STREAM,
                room=capacity,
                on_accept=self._on_accept,
            )
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            listener.setblocking(False)
            self.socks[name] = listener
            self.pending[name] = []
            self.accepted[name] = 0

    def _adopt(self, name: str, sock: ShimSocket) -> None:
        self.socks[name] = sock
        self.selector.shims[sock.fileno()] = sock

    def _on_trace(self, name: str, task: Task[Any]) -> None:
        if name == "spawn" and self.main is not None:
            # run's main task, numbered before its first step.
            program, log = self.main
            self.main = None
            self.tasks.append(task)
            self.programs.append(program)
            self.logs.append(log)
        self.trace.append(TRACED[name](task.tid))

    def _on_report(self, task: Task[Any]) -> None:
        self.reported.append(task.tid)

    def _on_accept(self, conn: ShimSocket) -> None:
        self.selector.shims[conn.fileno()] = conn

    def name_of(self, sock: socket.socket) -> str:
        for name, candidate in self.socks.items():
            if candidate is sock:
                return name
        return repr(sock)

    # ------------------------------------------------------------ programs

    def _sock(self, name: str) -> socket.socket:
        try:
            return self.socks[name]
        except KeyError:
            raise UnknownSocket(f"no socket named {name!r} yet") from None

    async def _interpret(self, program: tuple[Op, ...], log: list[object]) -> None:
        """Run `program`, one refloop call per operation. Timeout scopes are
        `move_on_after` blocks entered and left by hand, so that a fired scope
        can resume the program after its EndMoveOnAfter."""
        scopes: list[tuple[int, move_on_after]] = []
        self.open_scopes[current_task().tid] = scopes
        pc = 0
        while pc < len(program):
            op = program[pc]
            try:
                match op:
                    case MoveOnAfter():
                        scope = move_on_after(op.ticks)
                        scope.__enter__()
                        scopes.append((pc, scope))
                        self.scopes[scope] = pc
                    case EndMoveOnAfter():
                        _, scope = scopes.pop()
                        scope.__exit__(None, None, None)
                        log.append(("timeout", scope.fired))
                    case _:
                        await self._perform(op, log)
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
                log.append(("timeout", True))
                pc = matching_end(program, opened) + 1
                continue
            except BaseException as error:
                _leave_all(scopes, error)
                raise
            pc += 1

    async def _perform(self, op: Call, log: list[object]) -> None:
        """One operation, with the public refloop call of the same name."""
        match op:
            case Recv():
                log.append(await ops.recv(self._sock(op.sock), op.n))
            case Send():
                log.append(await ops.send(self._sock(op.sock), op.data))
            case SendAll():
                await ops.sendall(self._sock(op.sock), op.data)
                log.append(len(op.data))
            case Accept():
                listener = self._sock(op.sock)
                conn, _ = await ops.accept(listener)
                name = f"{op.sock}.{self.accepted[op.sock]}"
                self.accepted[op.sock] += 1
                self.socks[name] = conn
                self.peers[name] = self.pending[op.sock].pop(0)
                log.append(name)
            case Close():
                ops.close(self._sock(op.sock))
            case YieldNow():
                await ops.yield_now()
            case Sleep():
                await ops.sleep(op.ticks)
            case WaitIdle():
                await ops.wait_idle()
            case AwaitThread():
                await suspend(self._hand_to_thread)
            case Join():
                if not 0 <= op.tid < len(self.tasks):
                    raise UnknownTask(f"no task numbered {op.tid} yet")
                await self.tasks[op.tid].join()
                log.append(("join", op.tid))
            case (
                Acquire()
                | Release()
                | SetEvent()
                | WaitEvent()
                | ChanSend()
                | ChanRecv()
                | ChanClose()
            ):
                await self.sync.perform(op, log)
            case _:
                assert_never(op)

    def _hand_to_thread(self, k: Continuation) -> None:
        tid = k.task.tid
        self.held[tid] = k
        k.on_cancel = lambda: self.held.pop(tid, None)

    # ------------------------------------------------------------ actions

    def spawn(self, program: tuple[Op, ...]) -> int:
        log: list[object] = []
        task = self.loop.spawn(
            self._interpret(program, log), name=f"t{len(self.tasks)}"
        )
        self.tasks.append(task)
        self.programs.append(program)
        self.logs.append(log)
        return task.tid

    def run_once(self) -> list[Event]:
        """One real iteration; its events as the model's values."""
        self.trace.clear()
        # spec: io.interest
        self.selector.owned = {s.fileno() for s in self.socks.values()}
        self.selector.expect = {
            (w.sock.fileno(), _EVENT[w.direction]) for w in self.loop.snapshot().waiters
        }
        before = len(self.selector.timeouts)
        self.escaped = False
        try:
            self.loop.run_once()
        except WouldBlockForever:
            pass
        except CallbackInterrupt:
            self.escaped = True
        events: list[Event] = [event.Poll(t) for t in self.selector.timeouts[before:]]
        events.extend(self.trace)
        return events

    # spec: env.peer-send
    def peer_send(self, name: str, data: bytes, expect_pending: int) -> None:
        self.peers[name].sendall(data)
        sock = self.socks[name]
        if sock.family != socket.AF_UNIX and _pending_bytes(sock) < expect_pending:
            _wait_for(sock, select.POLLIN)

    # spec: env.peer-close
    def peer_close(self, name: str) -> None:
        self.peers[name].shutdown(socket.SHUT_WR)
        sock = self.socks[name]
        if sock.family != socket.AF_UNIX:
            _wait_for(sock, select.POLLRDHUP)

    # spec: env.peer-recv
    def peer_recv(self, name: str, n: int, expect: int) -> bytes:
        peer = self.peers[name]
        if expect and peer.family != socket.AF_UNIX and _pending_bytes(peer) < expect:
            _wait_for(peer, select.POLLIN)
        try:
            data = peer.recv(n, socket.MSG_DONTWAIT)
        except BlockingIOError:
            data = b""
        sock = self.socks[name]
        if isinstance(sock, ShimSocket) and sock.room is not None:
            sock.room += len(data)
        return data

    def cancel(self, tid: int) -> None:
        self.tasks[tid].cancel()

    # spec: env.thread-post
    def thread_post(self, tid: int) -> None:
        """A real thread posts the held continuation, and is joined."""
        k = self.held.pop(tid)
        poster = threading.Thread(
            target=self.loop.call_soon_threadsafe, args=(_resume_unless_cancelled, k)
        )
        poster.start()
        poster.join()

    def _callback(self, callback: Callback) -> _Callback:
        self.ncalls += 1
        return _Callback(self, self.ncalls - 1, callback)

    # spec: loop.run.deadlock
    def run(self, program: tuple[Op, ...]) -> tuple[list[Event], str]:
        """`loop.run(main)` for `program` as main, stopped where its poll
        would wait for the environment: its events (polls among the loop's
        trace) and its outcome, as refloop.model.entry.run names them."""
        self.trace.clear()
        log: list[object] = []
        self.main = (program, log)
        # The interest set is compared at run_once's poll only: within run,
        # the waiters change between polls (spec: io.interest).
        self.selector.expect = None
        self.selector.stop_on_wait = True
        polls = 0

        def on_poll(timeout: float | None) -> None:
            nonlocal polls
            polls += 1
            if polls > _RUN_POLLS:
                # A loop that polls on and on without settling (a stale
                # registration keeps a socket ready, say) is stopped, not
                # waited for: the model settles far sooner.
                raise _Unsettled
            self.trace.append(event.Poll(timeout))

        self.selector.on_poll = on_poll
        self.escaped = False
        run = getattr(self.loop, "run")  # noqa: B009 (not in LoopUnderTest)
        try:
            run(self._interpret(program, log), grace=0)
            outcome = "done"
        except WouldBlockForever:
            outcome = "blocks"
        except _Unsettled:
            outcome = "unsettled"
        except CallbackInterrupt:
            outcome = "escaped"
        except LoopError as error:
            outcome = "deadlock" if "deadlock" in str(error) else "LoopError"
        except BaseException as error:
            outcome = type(error).__name__
        finally:
            self.selector.stop_on_wait = False
            self.selector.on_poll = None
        self.main = None
        return list(self.trace), outcome

    # spec: timer.callback-base-exception
    def call_later(self, ticks: float, callback: Callback) -> int:
        """Code outside the tasks, on the loop's thread, schedules a callback
        with `call_later`; returns its number."""
        fn = self._callback(callback)
        self.handles[fn.n] = self.loop.call_later(ticks, fn)
        return fn.n

    # spec: idle.callback-error
    def call_when_idle(self, callback: Callback) -> int:
        """As call_later, with `call_when_idle`."""
        fn = self._callback(callback)
        self.handles[fn.n] = self.loop.call_when_idle(fn)
        return fn.n

    # spec: thread.post.callback-error
    def thread_call(self, callback: Callback) -> int:
        """A real thread posts a callback with `call_soon_threadsafe`, and is
        joined."""
        fn = self._callback(callback)
        poster = threading.Thread(target=self.loop.call_soon_threadsafe, args=(fn,))
        poster.start()
        poster.join()
        return fn.n

    # spec: thread.owner
    def foreign_call(self, call: str, target: int | str) -> str:
        """Another thread, a real one joined at once, makes `call` on
        `target` (refloop.model.foreign): its outcome, "LoopError" when
        refused, else its result."""
        outcome: list[str] = []

        def attempt() -> None:
            try:
                outcome.append(repr(self._foreign(call, target)))
            except LoopError:
                outcome.append("LoopError")
            except Exception as error:  # reported as the mismatch it is
                outcome.append(f"{type(error).__name__}: {error}")

        caller = threading.Thread(target=attempt)
        caller.start()
        caller.join()
        return outcome[0]

    def _foreign(self, call: str, target: int | str) -> object:
        loop = self.loop
        match call, target:
            case "cancel", int():
                return self.tasks[target].cancel()
            case "resume", int():
                return self.held[target](None)
            case "withdraw", int():
                self.handles[target].cancel()
                return None
            case "call_later", _:
                return loop.call_later(0, _nothing)
            case "call_when_idle", _:
                return loop.call_when_idle(_nothing)
            case "spawn", _:
                return loop.spawn(_finish_at_once())
            case "close_socket", str():
                loop.close_socket(self.socks[target])
                return None
            case "close", str():
                ops.close(self.socks[target])
                return None
            case "snapshot", _:
                return loop.snapshot()
        raise ValueError(f"no foreign call {call!r} on {target!r}")

    # spec: env.advance
    def advance(self, ticks: int) -> None:
        self.clock.advance(ticks)

    # spec: env.peer-connect
    def peer_connect(self, name: str) -> None:
        listener = self.socks[name]
        peer = socket.create_connection(listener.getsockname(), timeout=_SETTLE)
        peer.settimeout(None)
        self.pending[name].append(peer)
        _wait_for(listener, select.POLLIN)

    # ------------------------------------------------------------ observing

    def abstract(self) -> State:
        """The real loop's state as a model State (bytes in flight are left
        out: the kernel holds them), read from `loop.snapshot()` and the tasks'
        public state only. The invariants apply to it unchanged."""
        snap = self.loop.snapshot()
        live = {view.tid: view for view in snap.tasks}
        tasks = []
        for task, program, log in zip(
            self.tasks, self.programs, self.logs, strict=True
        ):
            view = live.get(task.tid) or TaskView.of(task)
            error = None
            if view.state == "failed":
                error = type(view.exception).__name__
            tasks.append(
                ModelTask(
                    task.tid,
                    program,
                    state=view.state,
                    log=tuple(log),
                    error=error,
                    scopes=tuple(pc for pc, _ in self.open_scopes.get(task.tid, [])),
                )
            )
        waiters = [
            Waiter(w.direction, self.name_of(w.sock), w.task.tid) for w in snap.waiters
        ]
        waiters.extend(Waiter("join", j.tid, j.joiner.tid) for j in snap.joins)
        waiters.extend(Waiter("thread", 0, tid) for tid in self.held)
        waiters.extend(self.sync.waiters())
        sockets = tuple(
            Sock(name, listener=name in self.pending, closed=sock.fileno() < 0)
            for name, sock in self.socks.items()
        )
        return State(
            tasks=tuple(tasks),
            run_queue=snap.run_queue,
            waiters=tuple(waiters),
            sockets=sockets,
            reported=tuple(self.reported),
            budget=self.budget,
            capacity=self.capacity,
            now=int(self.clock()),
            timers=tuple(
                Timer(
                    t.when if math.isinf(t.when) else int(t.when),
                    t.task.tid if t.task is not None else -1,
                    self.scopes.get(getattr(t.call, "__self__", None), -1),  # type: ignore[arg-type]
                    t.call.n if isinstance(t.call, _Callback) else -1,
                )
                for t in snap.timers
            ),
            idle=tuple(n for n in map(_idle_entry, snap.idle) if n is not None),
            posted=tuple(
                ~p.call.n if isinstance(p.call, _Callback) else p.args[0].task.tid
                for p in snap.posted
                if isinstance(p.call, _Callback)
                or (p.call is _resume_unless_cancelled and not p.args[0].resumed)
            ),
            **self.sync.abstract(),
            called=tuple(self.called),
        )

    def close(self) -> None:
        """Close the loop and every socket; nothing may be left behind."""
        self.loop.close()
        for sock in [*self.socks.values(), *self.peers.values()]:
            sock.close()
        for waiting in self.pending.values():
            for sock in waiting:
                sock.close()
        self.selector.close()


def _nothing() -> None:
    pass


async def _finish_at_once() -> None:
    pass


def _idle_entry(view: CallView) -> int | None:
    """An idle call as the model names it: its task, or ~n for callback n."""
    if isinstance(view.call, _Callback):
        return ~view.call.n
    return view.task.tid if view.task is not None else None


def _resume_unless_cancelled(k: Continuation) -> None:
    if not k.resumed:
        k()


def _leave_all(scopes: list[tuple[int, move_on_after]], error: BaseException) -> None:
    """Leave every open scope, innermost first, as `with` would on `error`."""
    while scopes:
        _, scope = scopes.pop()
        scope.__exit__(type(error), error, None)
