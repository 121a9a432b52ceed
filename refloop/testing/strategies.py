"""Hypothesis strategies for model programs, shared by tests and users."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from ..model import (
    EFFECTS,
    FAULT_KINDS,
    RAISES,
    SHORT,
    STOP,
    Accept,
    Acquire,
    AwaitThread,
    Callback,
    CancelScopes,
    ChanClose,
    ChanRecv,
    ChanSend,
    Close,
    EndCancelScope,
    EndMoveOnAfter,
    Fault,
    InThread,
    Join,
    MoveOnAfter,
    OnClose,
    Op,
    OpenCancelScope,
    Recv,
    Release,
    Send,
    SendAll,
    SetEvent,
    Sleep,
    Suspend,
    WaitEvent,
    WaitIdle,
    YieldNow,
)

__all__ = [
    "CHANNELS",
    "CLEANUPS",
    "LISTENERS",
    "STREAMS",
    "callbacks",
    "cleanup_programs",
    "delays",
    "faults",
    "few_programs",
    "ops",
    "programs",
    "scope_programs",
    "streams",
    "sync_ops",
    "sync_programs",
]

# Socketpairs, then the connections the listener may accept.
STREAMS = ("A", "B", "L.0", "L.1")
LISTENERS = ("L",)
MAX_TASKS = 6
# What an OnClose's cleanup does when close() closes its coroutine.
CLEANUPS = ("error", "await", "interrupt")
# Channels by name and capacity: a buffered one and a rendezvous; and the
# locks and events, which need no declaring.
CHANNELS = (("C", 1), ("Z", 0))
LOCKS = ("M",)
EVENTS = ("E",)


def streams() -> st.SearchStrategy[str]:
    """Mostly the socketpairs, which exist from the start; sometimes a
    connection that may not have been accepted yet."""
    pairs = st.sampled_from(STREAMS[:2])
    return st.one_of(pairs, pairs, pairs, st.sampled_from(STREAMS))


def ops(pool: bool = True) -> st.SearchStrategy[Op]:
    """One operation; with `pool`, now and then a run_in_thread job."""
    payload = st.binary(min_size=1, max_size=12)
    recv = st.builds(Recv, streams(), st.integers(1, 8))
    send = st.builds(Send, streams(), payload)
    sendall = st.builds(SendAll, streams(), payload)
    # one_of picks a branch uniformly: repeat the common operations to weight
    # them, so that closes and joins do not end most programs early.
    return st.one_of(
        recv,
        recv,
        recv,
        send,
        sendall,
        sendall,
        st.builds(Accept, st.sampled_from(LISTENERS)),
        st.just(YieldNow()),
        st.builds(Sleep, delays()),
        st.just(WaitIdle()),
        st.just(AwaitThread()),
        *([st.just(InThread()), st.just(InThread())] if pool else []),
        st.builds(Suspend, st.sampled_from(RAISES)),
        st.builds(Close, st.one_of(streams(), st.sampled_from(LISTENERS))),
        st.builds(Join, st.integers(0, MAX_TASKS - 1)),
        sync_ops(),
    )


def sync_ops() -> st.SearchStrategy[Op]:
    """Operations on the locks, events and channels (spec/11-sync.md)."""
    chans = st.sampled_from([name for name, _ in CHANNELS])
    locks = st.sampled_from(LOCKS)
    events = st.sampled_from(EVENTS)
    return st.one_of(
        st.builds(Acquire, locks),
        st.builds(Release, locks),
        st.builds(WaitEvent, events),
        st.builds(SetEvent, events),
        st.builds(ChanSend, chans, st.integers(0, 9)),
        st.builds(ChanRecv, chans),
        st.builds(ChanClose, chans),
    )


def delays() -> st.SearchStrategy[float]:
    """Mostly small sleeps; sometimes negative ones (now), ones far past the
    poll's clamp of one day, or infinite ones (timer.validate, tick.poll-clamp,
    timer.infinite)."""
    small = st.integers(0, 3)
    return st.one_of(
        small,
        small,
        small,
        small,
        st.integers(-3, -1),
        st.sampled_from([86_401, 10**7, 10**12]),
        st.just(math.inf),
    )


def callbacks() -> st.SearchStrategy[Callback]:
    """A callback that returns, raises an Exception or a BaseException, or
    cancels a task while timers fire. (One that calls `loop.stop()` is made
    by the machine's run_forever rule, which it ends.)"""
    effects = [effect for effect in EFFECTS if effect != STOP]
    return st.builds(Callback, st.sampled_from(effects), st.integers(0, MAX_TASKS - 1))


def few_programs(pool: bool = True) -> st.SearchStrategy[list[tuple[Op, ...]]]:
    return st.lists(programs(pool), min_size=1, max_size=3)


def _timeout_block(body: st.SearchStrategy[list[Op]]) -> st.SearchStrategy[list[Op]]:
    """`with move_on_after(ticks): body`, as bracketing operations; now and
    then with a negative timeout (already due: cancel.scope.timeout)."""
    return st.builds(
        lambda ticks, inner: [MoveOnAfter(ticks), *inner, EndMoveOnAfter()],
        st.one_of(st.integers(0, 3), st.integers(0, 3), st.just(-1)),
        body,
    )


def programs(pool: bool = True) -> st.SearchStrategy[tuple[Op, ...]]:
    """Up to five operations, some of them inside (nested) timeout scopes;
    with `pool`, run_in_thread jobs among them (the core machine draws
    none: they diluted its search)."""
    single = ops(pool).map(lambda op: [op])
    inner = st.lists(ops(pool), min_size=1, max_size=3)
    nested = _timeout_block(
        st.lists(st.one_of(single, _timeout_block(inner)), min_size=1, max_size=2).map(
            lambda parts: [op for part in parts for op in part]
        )
    )
    # A pool job under a timeout: cancelled while it runs (thread.run-cancel).
    pooled = [_timeout_block(st.just([InThread()]))] if pool else []
    part = st.one_of(single, single, single, _timeout_block(inner), nested, *pooled)
    return st.lists(part, min_size=1, max_size=4).map(
        lambda parts: tuple(op for p in parts for op in p)
    )


def cleanup_programs() -> st.SearchStrategy[tuple[Op, ...]]:
    """A program whose cleanup misbehaves when close() closes it: an
    OnClose first, then `programs()` (loop.close.raises)."""
    return st.builds(
        lambda raises, body: (OnClose(raises), *body),
        st.sampled_from(CLEANUPS),
        programs(),
    )


def sync_programs() -> st.SearchStrategy[tuple[Op, ...]]:
    """Up to five operations, mostly on the primitives, with yields between
    (what contention on a lock or a channel is made of)."""
    return st.lists(
        st.one_of(sync_ops(), sync_ops(), st.just(YieldNow())), min_size=1, max_size=5
    ).map(tuple)


def _scope_ops() -> st.SearchStrategy[Op]:
    """What the blocks of scope_programs hold: waits a cancel can reach
    (sleeps, a read, an event), yields, and cancels of scopes (a task
    group's cancel() is several)."""
    targets = st.tuples(st.integers(0, MAX_TASKS - 1), st.integers(-1, 4))
    return st.one_of(
        st.just(YieldNow()),
        st.just(YieldNow()),
        st.builds(Sleep, st.sampled_from([0, 1, 1, math.inf])),
        st.builds(Recv, st.sampled_from(STREAMS[:2]), st.just(1)),
        st.builds(WaitEvent, st.sampled_from(EVENTS)),
        st.builds(SetEvent, st.sampled_from(EVENTS)),
        st.builds(CancelScopes, st.lists(targets, min_size=1, max_size=2).map(tuple)),
    )


def _cancel_scope_block(
    body: st.SearchStrategy[list[Op]],
) -> st.SearchStrategy[list[Op]]:
    """`with CancelScope(shield=...): body`, as bracketing operations."""
    return st.builds(
        lambda shield, inner: [OpenCancelScope(shield), *inner, EndCancelScope()],
        st.booleans(),
        body,
    )


def scope_programs() -> st.SearchStrategy[tuple[Op, ...]]:
    """Up to about eight operations in CancelScope blocks (shielded or not)
    and timeout blocks, nested up to three deep (spec/09-cancel.md, the
    scopes a user controls)."""
    single = _scope_ops().map(lambda op: [op])
    flat = st.lists(_scope_ops(), min_size=1, max_size=2)
    block = st.one_of(
        _cancel_scope_block(flat), _cancel_scope_block(flat), _timeout_block(flat)
    )
    inner = st.lists(st.one_of(single, block), min_size=1, max_size=2).map(
        lambda parts: [op for part in parts for op in part]
    )
    nested = st.one_of(_cancel_scope_block(inner), _timeout_block(inner))
    deep = _cancel_scope_block(
        st.lists(st.one_of(single, nested), min_size=1, max_size=2).map(
            lambda parts: [op for part in parts for op in part]
        )
    )
    part = st.one_of(single, block, nested, deep)
    return st.lists(part, min_size=1, max_size=3).map(
        lambda parts: tuple(op for p in parts for op in p)
    )


def _faults_of(op: str) -> st.SearchStrategy[Fault]:
    errors = [kind for kind in FAULT_KINDS[op] if kind != SHORT]
    found = st.builds(Fault, st.just(op), st.sampled_from(errors), st.just(0))
    if SHORT not in FAULT_KINDS[op]:
        return found
    return st.one_of(
        found, st.builds(Fault, st.just(op), st.just(SHORT), st.integers(1, 3))
    )


def faults() -> st.SearchStrategy[tuple[str, Fault]]:
    """A socket and a fault for its next system call of a kind (env.fault):
    on a stream, ECONNRESET, EPIPE, EINTR or a short transfer of 1 to 3
    bytes for its next recv or send; on a listener, EMFILE, ENFILE,
    ECONNABORTED, EPROTO or EINTR for its next accept."""
    on_stream = st.tuples(streams(), st.one_of(_faults_of("recv"), _faults_of("send")))
    on_listener = st.tuples(st.sampled_from(LISTENERS), _faults_of("accept"))
    return st.one_of(on_stream, on_stream, on_listener)
