"""The trace of an explored run: what was asked of the loop, and what the
loop decided, as typed events (refloop/explore/_events.py; spec:
explore.trace). The `Recorder` collects them; its handles report their own
cancellation and run; a selector in front of the explorer's reports polls.

Rules this module keeps:

1. The loop itself is unchanged. A traced loop is the loop's class with a
   mixin in front (`traced_class`, refloop/explore/_traced_loop.py): the
   mixin records the calls made of it (call_soon, call_at, a watcher added
   or removed) *as asked*, before a subclass (a broken loop,
   refloop/testing/trace_broken.py) can change them; its core records what
   the run queue holds when each drain begins; the handles it returns
   record when they are cancelled and when they run; a selector in front of
   the explorer's records what each poll reported.
2. The trace is all the validator sees (refloop/explore/_validate.py):
   inputs (`Soon`, `At`, `Cancel`, `Watch`, `Unwatch`, `Poll`) and the
   loop's decisions (`Drain`: what the iteration queued; `Run`: what ran).
3. Every call that appends to the run queue (call_soon, from any thread,
   and asyncio's _add_callback) appends and is recorded under the
   recorder's lock, as one step (`Recorder.lock`), and a drain's queue is
   read under it: the trace's order of appends is the queue's.
4. Recording costs one list append per event; handles are told apart by an
   id, not kept alive (a handle is named by its `id()` while it lives; the
   loop never holds a dead one).
"""

from __future__ import annotations

import selectors
import threading
from asyncio import Handle
from collections.abc import Callable, Iterable
from typing import Any

from .. import aio
from .._task import Task
from ..aio._timers import Timer
from ._aionet import SimEventLoop
from ._events import Aborted, At, Cancel, Drain, Event, Poll, Run, Soon, Unwatch, Watch
from ._forwarding import ForwardingSelector
from ._net import SimNetwork
from ._traced_loop import traced_class

__all__ = ["Recorder", "TracedHandle", "TracedTimer"]


class Recorder:
    """Collects one run's trace; `new_loop` makes the traced loop."""

    def __init__(self, loop_class: type[aio.RefloopEventLoop] | None = None) -> None:
        if loop_class is not None and not (
            isinstance(loop_class, type)
            and issubclass(loop_class, aio.RefloopEventLoop)
        ):
            raise TypeError(
                f"Recorder(loop_class=...) needs a refloop.aio.RefloopEventLoop "
                f"subclass, got {loop_class!r}"
            )
        self.loop_class = loop_class or aio.RefloopEventLoop
        self.events: list[Event] = []
        self.names: dict[int, str] = {}
        self._ids: dict[int, int] = {}  # id(handle) -> entry, while it lives
        # Called with each event as it is recorded (the online validator,
        # refloop/explore/_validate.py); what it raises stops the run.
        self.check: Callable[[Event], None] | None = None
        # Held while an event is recorded, and by a post from another
        # thread from its append to its record, so that a drain never sees
        # a handle that the trace has not scheduled yet.
        self.lock = threading.RLock()

    def _add(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)
            if self.check is not None:
                self.check(event)

    def new_loop(
        self,
        clock: Callable[[], float],
        selector: selectors.BaseSelector,
        net: SimNetwork | None = None,
    ) -> aio.RefloopEventLoop:
        """A traced loop of `loop_class`; on the simulated network `net`,
        one that is also a SimEventLoop."""
        base: type[aio.RefloopEventLoop] = self.loop_class
        extra: dict[str, Any] = {}
        if net is not None:
            base = type(f"Sim{base.__name__}", (SimEventLoop, base), {})
            extra["net"] = net
        cls: Any = traced_class(base)
        loop: aio.RefloopEventLoop = cls(
            self, clock=clock, selector=_Observed(selector, self), **extra
        )
        return loop

    # ------------------------------------------------------------ inputs

    def _new(self, handle: Handle, callback: object) -> int | None:
        kind = type(handle)
        if kind is TracedHandle or kind is TracedTimer:
            return self._ids.get(id(handle))  # queued again (a signal's handle)
        if kind is Handle:
            handle.__class__ = TracedHandle
        elif kind is Timer:
            handle.__class__ = TracedTimer
        else:
            return None  # a loop's own handle type: left untraced
        entry = len(self.names)
        self.names[entry] = _name(callback)
        self._ids[id(handle)] = entry
        return entry

    def soon(self, handle: Handle, callback: object) -> None:
        entry = self._new(handle, callback)
        if entry is not None:
            self._add(Soon(entry))

    def at(self, handle: Handle, callback: object, when: float) -> None:
        entry = self._new(handle, callback)
        if entry is not None:
            self._add(At(entry, when))

    def watch(self, handle: Handle, callback: object, fd: int, direction: str) -> None:
        entry = self._new(handle, callback)
        if entry is not None:
            self._add(Watch(entry, fd, direction))

    def unwatch(self, fd: int, direction: str) -> None:
        self._add(Unwatch(fd, direction))

    def cancel(self, handle: Handle) -> None:
        entry = self._ids.get(id(handle))
        if entry is not None:
            self._add(Cancel(entry))

    def poll(self, found: list[tuple[selectors.SelectorKey, int]]) -> None:
        ready = tuple(
            (key.fd, name)
            for key, mask in found
            for bit, name in _DIRECTIONS
            if mask & bit
        )
        self._add(Poll(ready))

    # ------------------------------------------------------------ decisions

    def drain(self, queue: Iterable[object], now: float) -> None:
        with self.lock:
            self._drain(queue, now)

    def _drain(self, queue: Iterable[object], now: float) -> None:
        ids = self._ids
        entries: list[int | None] = []
        for entry in queue:
            kind = type(entry)
            if kind is TracedHandle or kind is TracedTimer:
                entries.append(ids.get(id(entry)))
            elif kind is Task:
                entries.append(-1 - entry.tid)  # type: ignore[attr-defined]
            else:
                entries.append(None)
        self._add(Drain(now, tuple(entries)))

    def ran(self, handle: Handle) -> None:
        entry = self._ids.get(id(handle))
        if entry is not None:
            self._add(Run(entry))

    def native(self, event: str, task: Task[Any]) -> None:
        """The core's trace hook (refloop.Loop's `trace`): a native step."""
        if event == "run":
            self._add(Run(-1 - task.tid))

    def aborted(self) -> None:
        self._add(Aborted())


_DIRECTIONS = ((selectors.EVENT_READ, "read"), (selectors.EVENT_WRITE, "write"))


def _name(callback: object) -> str:
    name = getattr(callback, "__qualname__", None)
    return name if isinstance(name, str) else type(callback).__name__


class _Told(Handle):
    """Tells the recorder when the handle is cancelled or runs; in front of
    asyncio's Handle and of its timer handle."""

    __slots__ = ()

    def cancel(self) -> None:
        self._loop._recorder.cancel(self)  # type: ignore[attr-defined]
        super().cancel()

    def _run(self) -> None:
        self._loop._recorder.ran(self)  # type: ignore[attr-defined]
        super()._run()


class TracedHandle(_Told):
    """asyncio's Handle, telling the recorder when it is cancelled or runs."""

    __slots__ = ()


class TracedTimer(_Told, Timer):
    """asyncio's timer handle, telling the recorder the same."""

    __slots__ = ()


class _Observed(ForwardingSelector):
    """The explorer's selector, with each poll's report recorded."""

    def __init__(self, inner: selectors.BaseSelector, recorder: Recorder) -> None:
        super().__init__(inner)
        self._recorder = recorder

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        found = self._inner.select(timeout)
        self._recorder.poll(found)
        return found
