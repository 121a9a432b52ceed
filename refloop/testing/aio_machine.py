"""The asyncio-level stateful test: a real asyncio loop beside the pure model
of spec/13-asyncio.md (refloop/model/aio.py).

`AioMachine` is a Hypothesis RuleBasedStateMachine whose rules are asyncio
calls made from outside the loop (`call_soon`, `call_later`, `call_at`,
`cancel`, `add_done_callback`, `add_reader`, `add_writer`, `remove_*`,
`call_soon_threadsafe` from a real thread), environment events (`peer_send`
on a socketpair, `advance` of a virtual clock) and runs of the loop
(`run_once`: `stop()` then `run_forever()`, one iteration; `run_until_stop`:
`run_forever()` until a callback calls `stop()`; `wake_from_thread`: the loop
blocks in its poll and a thread's `call_soon_threadsafe` must wake it).
Callbacks are data (model.aio.Callback): they log their label and then do
their effects, which schedule more callbacks, cancel handles, resolve
futures, remove readers and writers, read their socket, or stop the loop.
After every run the labels the real loop ran, in order, must be the model's.

A guard socket's reader ends any run that blocks for GUARD seconds (a lost
wakeup, or a loop that does not stop when the model says it does): it logs
label -1 and stops the loop, so the run's log disagrees instead of hanging.

`aio_machine_for(adapter)` makes the machine for a loop under test.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from ..model import aio as m
from .aio_adapters import Adapter, refloop_adapter
from .aio_strategies import SOCKS, label_shape, shapes

__all__ = ["GUARD", "UNIT", "AioMachine", "AioMismatch", "aio_machine_for", "shapes"]

# One tick of the model's clock, in seconds: a power of two, so every
# deadline and clock value the machine makes is exact in binary floating point.
UNIT = 2.0**-7
GUARD = 0.5
LIMIT = 8
MAX_LABELS = 60
_SOCK_NAMES = st.sampled_from(SOCKS)


class AioMismatch(AssertionError):
    """The loop under test ran callbacks the model does not."""


class AioMachine(RuleBasedStateMachine):
    """Model versus a real asyncio loop; `aio_machine_for` sets the loop."""

    adapter: ClassVar[Adapter] = refloop_adapter
    # Programs the machine does not make (to look past a recorded
    # difference): "one-watcher" (at most one reader or writer at a time),
    # "one-watcher-per-sock" (never a reader and a writer on one socket),
    # "distinct-deadlines" (no two pending timers share a deadline),
    # "no-timers" (no call_later, call_at or Later effect),
    # "no-stop-in-watchers" (a reader or writer never calls stop() itself),
    # "pre-stop-only" (runs are only stop() then run_forever()),
    # "no-drain" (no callback reads its socket),
    # "no-replace" (add_reader/add_writer only where none is).
    restrict: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.loop, self.clock = type(self).adapter.make()
        self.model = m.initial(SOCKS)
        self.labels = 0
        self.log: list[int] = []
        self.handles: dict[int, Any] = {}
        self.futures: list[Any] = []
        self.socks: dict[str, tuple[socket.socket, socket.socket]] = {}
        for name in SOCKS:
            mine, peer = socket.socketpair()
            mine.setblocking(False)
            self.socks[name] = (mine, peer)
        self.guard = socket.socketpair()
        self.guard[0].setblocking(False)

    # ------------------------------------------------------------ callbacks

    def _label(self, shape: tuple[Any, ...]) -> m.Callback:
        cb, self.labels = label_shape(
            shape, self.labels, sorted(self.handles), len(self.futures), self.restrict
        )
        return cb

    def _run(self, cb: m.Callback) -> None:
        """What the real loop runs for a model callback."""
        self.log.append(cb.label)
        loop = self.loop
        for e in cb.effects:
            if isinstance(e, m.Soon):
                self.handles[e.callback.label] = loop.call_soon(self._run, e.callback)
            elif isinstance(e, m.Later):
                self.handles[e.callback.label] = loop.call_later(
                    self._delay(e.ticks), self._run, e.callback
                )
            elif isinstance(e, m.Cancel):
                self.handles[e.label].cancel()
            elif isinstance(e, m.Resolve):
                if not self.futures[e.fid].done():
                    self.futures[e.fid].set_result(None)
            elif isinstance(e, m.RemoveReader):
                loop.remove_reader(self.socks[e.sock][0])
            elif isinstance(e, m.RemoveWriter):
                loop.remove_writer(self.socks[e.sock][0])
            elif isinstance(e, m.Drain):
                _drain(self.socks[e.sock][0])
            else:
                loop.stop()

    def _delay(self, ticks: int) -> float:
        if self.clock is None and ticks:
            return 3600.0 * ticks  # no virtual clock: never due within a test
        return ticks * UNIT

    def _room(self) -> bool:
        return self.labels < MAX_LABELS

    # ------------------------------------------------------------ outside calls

    @precondition(_room)
    @rule(shape=shapes)
    def call_soon(self, shape: tuple[Any, ...]) -> None:
        cb = self._label(shape)
        self.model = m.call_soon(self.model, cb)
        self.handles[cb.label] = self.loop.call_soon(self._run, cb)

    @precondition(_room)
    @rule(ticks=st.integers(0, 2), shape=shapes)
    def call_later(self, ticks: int, shape: tuple[Any, ...]) -> None:
        if not self._free_deadline(self.model.now + ticks):
            return
        cb = self._label(shape)
        self.model = m.call_later(self.model, ticks, cb)
        self.handles[cb.label] = self.loop.call_later(self._delay(ticks), self._run, cb)

    @precondition(lambda self: self._room() and self.clock is not None)
    @rule(tick=st.integers(0, 4), shape=shapes)
    def call_at(self, tick: int, shape: tuple[Any, ...]) -> None:
        if not self._free_deadline(tick):
            return
        cb = self._label(shape)
        self.model = m.call_at(self.model, tick, cb)
        self.handles[cb.label] = self.loop.call_at(tick * UNIT, self._run, cb)

    @precondition(lambda self: bool(self.handles))
    @rule(index=st.integers(0, 15))
    def cancel(self, index: int) -> None:
        known = sorted(self.handles)
        label = known[index % len(known)]
        self.model = m.cancel(self.model, label)
        self.handles[label].cancel()

    @precondition(lambda self: len(self.futures) < 3)
    @rule()
    def new_future(self) -> None:
        self.model, fid = m.new_future(self.model)
        self.futures.append(self.loop.create_future())
        assert fid == len(self.futures) - 1

    @precondition(lambda self: self._room() and bool(self.futures))
    @rule(index=st.integers(0, 3), shape=shapes)
    def add_done_callback(self, index: int, shape: tuple[Any, ...]) -> None:
        fid = index % len(self.futures)
        cb = self._label(shape)
        self.model = m.add_done_callback(self.model, fid, cb)
        self.futures[fid].add_done_callback(lambda _f, cb=cb: self._run(cb))

    def _may_watch(self) -> bool:
        return self._room() and not (
            "one-watcher" in self.restrict and self.model.watchers
        )

    def _may_watch_sock(self, sock: str) -> bool:
        return "one-watcher-per-sock" not in self.restrict or all(
            w.sock != sock for w in self.model.watchers
        )

    def _free_deadline(self, deadline: int) -> bool:
        if "no-timers" in self.restrict:
            return False
        return "distinct-deadlines" not in self.restrict or all(
            t.deadline != deadline for t in self.model.timers
        )

    @precondition(_may_watch)
    @rule(sock=_SOCK_NAMES, reader=st.booleans(), shape=shapes)
    def add_watcher(self, sock: str, reader: bool, shape: tuple[Any, ...]) -> None:
        """`add_reader` or `add_writer` (replacing any there)."""
        direction = m.READ if reader else m.WRITE
        if not self._may_watch_sock(sock) and all(
            (w.sock, w.direction) != (sock, direction) for w in self.model.watchers
        ):
            return
        if "no-replace" in self.restrict and any(
            (w.sock, w.direction) == (sock, direction) for w in self.model.watchers
        ):
            return
        if "no-stop-in-watchers" in self.restrict:
            shape = tuple(e for e in shape if e[0] != "stop")
        cb = self._label(shape)
        self.model = m.add_watcher(self.model, sock, direction, cb)
        add = self.loop.add_reader if reader else self.loop.add_writer
        add(self.socks[sock][0], self._run, cb)

    @rule(sock=_SOCK_NAMES, reader=st.booleans())
    def remove_watcher(self, sock: str, reader: bool) -> None:
        direction = m.READ if reader else m.WRITE
        self.model = m.remove_watcher(self.model, sock, direction)
        remove = self.loop.remove_reader if reader else self.loop.remove_writer
        remove(self.socks[sock][0])

    @rule(sock=_SOCK_NAMES)
    def peer_send(self, sock: str) -> None:
        self.model = m.peer_send(self.model, sock, 1)
        self.socks[sock][1].send(b"x")

    @precondition(lambda self: self.clock is not None)
    @rule(ticks=st.integers(1, 2))
    def advance(self, ticks: int) -> None:
        self.model = m.advance(self.model, ticks)
        assert self.clock is not None
        self.clock.advance(ticks * UNIT)

    @precondition(_room)
    @rule(shape=shapes)
    def call_soon_threadsafe(self, shape: tuple[Any, ...]) -> None:
        """From a real thread, joined before the next step."""
        cb = self._label(shape)
        self.model = m.call_soon_threadsafe(self.model, cb)
        thread = threading.Thread(target=self._post, args=(cb, 0.0))
        thread.start()
        thread.join()

    def _post(self, cb: m.Callback, delay: float) -> None:
        time.sleep(delay)
        self.handles[cb.label] = self.loop.call_soon_threadsafe(self._run, cb)

    # ------------------------------------------------------------ runs

    def _check(self, step: str, want: tuple[int, ...]) -> None:
        # spec: aio.reference
        got = tuple(self.log)
        self.log.clear()
        if got != want:
            note(f"model state: {self.model!r}")
            raise AioMismatch(f"{step} ran {list(got)}; the model says {list(want)}")
        done = [f.done() for f in self.futures]
        model_done = [f.done for f in self.model.futures]
        if done != model_done:
            raise AioMismatch(f"futures done {done}; the model says {model_done}")

    def _guarded_run(self) -> None:
        mine, peer = self.guard

        def guard() -> None:
            self.log.append(-1)
            _drain(mine)
            self.loop.stop()

        self.loop.add_reader(mine, guard)
        alarm = threading.Timer(GUARD, peer.send, (b"g",))
        alarm.start()
        try:
            self.loop.run_forever()
        finally:
            alarm.cancel()
            alarm.join()
            self.loop.remove_reader(mine)
            _drain(mine)

    @rule()
    def run_once(self) -> None:
        self.model, want = m.run_once(self.model)
        self.loop.stop()
        self.loop.run_forever()
        self._check("run_once", want)

    @precondition(
        lambda self: (
            "pre-stop-only" not in self.restrict
            and m.run_until_stopped(self.model, LIMIT) is not None
        )
    )
    @rule()
    def run_until_stop(self) -> None:
        result = m.run_until_stopped(self.model, LIMIT)
        assert result is not None
        self.model, want = result
        self._guarded_run()
        self._check("run_forever until stop()", want)

    @precondition(
        lambda self: (
            "pre-stop-only" not in self.restrict
            and self._room()
            and m.is_idle(self.model)
        )
    )
    @rule(shape=shapes)
    def wake_from_thread(self, shape: tuple[Any, ...]) -> None:
        """The loop blocks in its poll; a thread's call_soon_threadsafe of a
        callback that stops the loop must wake it (one iteration)."""
        cb = self._label(shape)
        cb = cb._replace(effects=(*cb.effects, m.Stop()))
        self.model = m.call_soon_threadsafe(self.model, cb)
        self.model, want = m.run_once(self.model)
        thread = threading.Thread(target=self._post, args=(cb, 0.02))
        thread.start()
        try:
            self._guarded_run()
        finally:
            thread.join()
        self._check("run_forever woken by a thread", want)

    def teardown(self) -> None:
        for mine, peer in self.socks.values():
            self.loop.remove_reader(mine)
            self.loop.remove_writer(mine)
            mine.close()
            peer.close()
        for s in self.guard:
            s.close()
        self.loop.close()


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except BlockingIOError:
        pass


def aio_machine_for(adapter: Adapter, **settings: Any) -> type[AioMachine]:
    """An AioMachine subclass that runs the adapter's loop against the model."""
    name = "".join(p.capitalize() for p in adapter.name.split(".")) + "AioMachine"
    namespace: dict[str, Any] = {"adapter": adapter, **settings}
    return type(name, (AioMachine,), namespace)
