"""The asyncio-facing model: what an asyncio event loop does with callbacks,
timers, futures, readers and writers, as pure functions over immutable state.

Rule 1: this module imports nothing outside refloop.model, does no I/O and
reads no clock; time is `AioState.now`, in whole ticks, moved by `advance`.
Rule 2: every transition cites the spec rule it carries (spec/13-asyncio.md).

Theory of operation. A callback is data: a label (what the log records when
it runs) and the effects it has when it runs, in order (`Soon`, `Later`,
`Cancel`, `Resolve`, `RemoveReader`, `RemoveWriter`, `Drain`, `Stop`).
Outside the loop, code calls `call_soon`, `call_later`, `call_at`, `cancel`,
`add_done_callback`, `add_reader`, `add_writer`, `remove_*` and
`call_soon_threadsafe`; the peer of a socket sends (`peer_send`); the clock
moves (`advance`). `run_once` is one iteration (`stop()` then
`run_forever()`); `run_until_stopped` is `run_forever()` until a callback
calls `stop()`. Both return the labels of the callbacks that ran, in order.
The reference harness (refloop/testing/aio_machine.py) does the same to a
real loop and compares.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "AioState",
    "Callback",
    "Cancel",
    "Drain",
    "Effect",
    "Later",
    "RemoveReader",
    "RemoveWriter",
    "Resolve",
    "Soon",
    "Stop",
    "add_done_callback",
    "add_watcher",
    "advance",
    "call_at",
    "call_later",
    "call_soon",
    "call_soon_threadsafe",
    "cancel",
    "initial",
    "is_idle",
    "new_future",
    "peer_send",
    "queue_ready",
    "remove_watcher",
    "run_once",
    "run_until_stopped",
]

READ = "read"
WRITE = "write"


class Soon(NamedTuple):
    callback: Callback


class Later(NamedTuple):
    ticks: int
    callback: Callback


class Cancel(NamedTuple):
    label: int


class Resolve(NamedTuple):
    fid: int


class RemoveReader(NamedTuple):
    sock: str


class RemoveWriter(NamedTuple):
    sock: str


class Drain(NamedTuple):
    """The callback reads everything its socket's peer has sent."""

    sock: str


class Stop(NamedTuple):
    pass


Effect = Soon | Later | Cancel | Resolve | RemoveReader | RemoveWriter | Drain | Stop


class Callback(NamedTuple):
    label: int
    effects: tuple[Effect, ...] = ()
    # Which handle this is, once scheduled: a callback whose label recurs
    # (one queued by a persistent watcher's callback each time it runs) is
    # a new handle each time, and cancelling cancels one handle. -1: a
    # handle nobody holds (a future's done callback). A template (inside an
    # effect) has -1 until it is scheduled.
    iid: int = -1


class Timer(NamedTuple):
    deadline: int
    seq: int
    callback: Callback


class Watcher(NamedTuple):
    sock: str
    direction: str
    callback: Callback


class Future(NamedTuple):
    done: bool = False
    callbacks: tuple[Callback, ...] = ()


class AioState(NamedTuple):
    now: int = 0
    # The next handle number: timers' order among equal deadlines, and the
    # identity (`Callback.iid`) of every handle the machine may cancel.
    seq: int = 0
    ready: tuple[Callback, ...] = ()
    # Invariant: timers and watchers are kept in creation order; a watcher
    # replaced is removed and its successor appended (a new registration).
    timers: tuple[Timer, ...] = ()
    watchers: tuple[Watcher, ...] = ()
    # The handles (iids) cancelled, and each label's latest handle: what
    # `cancel(label)` cancels (the harness holds the handle it made last).
    cancelled: frozenset[int] = frozenset()
    latest: tuple[tuple[int, int], ...] = ()
    # Bytes each socket's peer sent that the loop has not read: (sock, n).
    inbound: tuple[tuple[str, int], ...] = ()
    futures: tuple[Future, ...] = ()
    stopping: bool = False


def initial(socks: tuple[str, ...]) -> AioState:
    return AioState(inbound=tuple((s, 0) for s in socks))


# ------------------------------------------------------------ outside calls


def _handle(s: AioState, cb: Callback) -> tuple[AioState, Callback]:
    """`cb` as a new handle: numbered, and its label's latest."""
    made = cb._replace(iid=s.seq)
    latest = (*((k, v) for k, v in s.latest if k != cb.label), (cb.label, s.seq))
    return s._replace(seq=s.seq + 1, latest=latest), made


def call_soon(s: AioState, cb: Callback) -> AioState:
    s, handle = _handle(s, cb)
    # spec: aio.call-soon
    return s._replace(ready=(*s.ready, handle))


def call_soon_threadsafe(s: AioState, cb: Callback) -> AioState:
    s, handle = _handle(s, cb)
    # spec: aio.threadsafe
    return s._replace(ready=(*s.ready, handle))


def call_at(s: AioState, deadline: int, cb: Callback) -> AioState:
    s, handle = _handle(s, cb)
    # spec: aio.timer.order
    timer = Timer(deadline, handle.iid, handle)
    return s._replace(timers=(*s.timers, timer))


def call_later(s: AioState, ticks: int, cb: Callback) -> AioState:
    return call_at(s, s.now + ticks, cb)


def cancel(s: AioState, label: int) -> AioState:
    """Cancel the latest handle made with `label` (a handle that already
    ran is not affected; a later handle with the same label neither)."""
    iid = next((v for k, v in s.latest if k == label), None)
    if iid is None:
        return s
    # spec: aio.cancelled-skip
    timers = tuple(t for t in s.timers if t.seq != iid)
    return s._replace(cancelled=s.cancelled | {iid}, timers=timers)


def new_future(s: AioState) -> tuple[AioState, int]:
    return s._replace(futures=(*s.futures, Future())), len(s.futures)


def add_done_callback(s: AioState, fid: int, cb: Callback) -> AioState:
    future = s.futures[fid]
    if future.done:
        # spec: aio.future.callbacks
        return s._replace(ready=(*s.ready, cb))
    changed = future._replace(callbacks=(*future.callbacks, cb))
    return s._replace(futures=_put(s.futures, fid, changed))


def add_watcher(s: AioState, sock: str, direction: str, cb: Callback) -> AioState:
    # spec: aio.watch.replace
    s = remove_watcher(s, sock, direction)
    # A watcher is one handle, however often it runs.
    watcher = Watcher(sock, direction, cb._replace(iid=s.seq))
    return s._replace(watchers=(*s.watchers, watcher), seq=s.seq + 1)


def remove_watcher(s: AioState, sock: str, direction: str) -> AioState:
    old = [w for w in s.watchers if (w.sock, w.direction) == (sock, direction)]
    if not old:
        return s
    # spec: aio.watch.remove
    kept = tuple(w for w in s.watchers if (w.sock, w.direction) != (sock, direction))
    return s._replace(watchers=kept, cancelled=s.cancelled | {old[0].callback.iid})


def peer_send(s: AioState, sock: str, n: int) -> AioState:
    inbound = tuple((k, v + n if k == sock else v) for k, v in s.inbound)
    return s._replace(inbound=inbound)


def advance(s: AioState, ticks: int) -> AioState:
    return s._replace(now=s.now + ticks)


# ------------------------------------------------------------ iterations


def _readable(s: AioState, sock: str) -> bool:
    return any(k == sock and n > 0 for k, n in s.inbound)


def _ready_watchers(
    s: AioState, reported: frozenset[tuple[str, str]] | None = None
) -> tuple[Callback, ...]:
    # spec: aio.watch.level
    # spec: aio.watch.order
    if reported is not None:
        return tuple(
            w.callback for w in s.watchers if (w.sock, w.direction) in reported
        )
    return tuple(
        w.callback for w in s.watchers if w.direction == WRITE or _readable(s, w.sock)
    )


def _due(s: AioState) -> tuple[Timer, ...]:
    # spec: aio.timer.order
    return tuple(sorted((t for t in s.timers if t.deadline <= s.now), key=_by_time))


def _by_time(t: Timer) -> tuple[int, int]:
    return (t.deadline, t.seq)


def is_idle(s: AioState) -> bool:
    """Nothing could run without an outside event, and no timer is pending:
    `run_forever` would block in its poll until a thread wakes it."""
    return not s.ready and not s.timers and not _ready_watchers(s)


def _apply(s: AioState, effect: Effect) -> AioState:
    if isinstance(effect, Soon):
        return call_soon(s, effect.callback)
    if isinstance(effect, Later):
        return call_later(s, effect.ticks, effect.callback)
    if isinstance(effect, Cancel):
        return cancel(s, effect.label)
    if isinstance(effect, Resolve):
        future = s.futures[effect.fid]
        if future.done:
            return s
        # spec: aio.future.callbacks
        s = s._replace(futures=_put(s.futures, effect.fid, Future(done=True)))
        return s._replace(ready=(*s.ready, *future.callbacks))
    if isinstance(effect, RemoveReader):
        return remove_watcher(s, effect.sock, READ)
    if isinstance(effect, RemoveWriter):
        return remove_watcher(s, effect.sock, WRITE)
    if isinstance(effect, Drain):
        inbound = tuple((k, 0 if k == effect.sock else v) for k, v in s.inbound)
        return s._replace(inbound=inbound)
    # spec: aio.stop
    return s._replace(stopping=True)


def queue_ready(
    s: AioState, reported: frozenset[tuple[str, str]] | None = None
) -> AioState:
    """The first half of an iteration: the poll's ready watchers, then the
    due timers, join the run queue behind what is in it. `reported` is what
    the poll reported ready, (sock, direction) pairs, when the environment
    says so (trace validation of a real run, refloop/explore/_validate.py);
    None: the model's own readiness."""
    # spec: aio.iteration
    due = _due(s)
    fired = {t.seq for t in due}
    return s._replace(
        ready=(*s.ready, *_ready_watchers(s, reported), *(t.callback for t in due)),
        timers=tuple(t for t in s.timers if t.seq not in fired),
    )


def _iterate(s: AioState) -> tuple[AioState, tuple[int, ...]]:
    """One iteration: the poll's ready watchers, then the due timers, join
    the run queue; then the drain runs what was queued when it began."""
    s = queue_ready(s)
    ran: list[int] = []
    # spec: aio.run-queue
    for _ in range(len(s.ready)):
        cb, rest = s.ready[0], s.ready[1:]
        s = s._replace(ready=rest)
        # spec: aio.cancelled-skip
        if cb.iid in s.cancelled:
            continue
        ran.append(cb.label)
        for effect in cb.effects:
            s = _apply(s, effect)
    return s, tuple(ran)


def run_once(s: AioState) -> tuple[AioState, tuple[int, ...]]:
    """`stop()` then `run_forever()`: exactly one iteration."""
    # spec: aio.stop
    s, ran = _iterate(s._replace(stopping=True))
    return s._replace(stopping=False), ran


def run_until_stopped(
    s: AioState, limit: int
) -> tuple[AioState, tuple[int, ...]] | None:
    """`run_forever()` until a callback calls `stop()`: the state and the
    labels run, or None if the loop would block (nothing ready, nothing due)
    or has not stopped within `limit` iterations."""
    ran: tuple[int, ...] = ()
    for _ in range(limit):
        if not s.ready and not _due(s) and not _ready_watchers(s):
            return None
        s, more = _iterate(s)
        ran += more
        if s.stopping:
            # spec: aio.stop
            return s._replace(stopping=False), ran
    return None


def _put(items: tuple[Future, ...], i: int, value: Future) -> tuple[Future, ...]:
    return (*items[:i], value, *items[i + 1 :])
