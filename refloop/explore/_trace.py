"""The trace of an explored run: what was asked of the loop, and what the
loop decided, as typed events (spec: explore.trace).

Rules this module keeps:

1. The loop itself is unchanged. A traced loop is the loop's class with a
   mixin in front (`traced_class`): the mixin records the calls made of it
   (call_soon, call_at, a watcher added or removed) *as asked*, before a
   subclass (a broken loop, refloop/testing/trace_broken.py) can change
   them; its core (`Core` with `_drain` observed) records what the run
   queue holds when each drain begins; the handles it returns record when
   they are cancelled and when they run; a selector in front of the
   explorer's records what each poll reported.
2. The trace is all the validator sees (refloop/explore/_validate.py):
   inputs (`Soon`, `At`, `Cancel`, `Watch`, `Unwatch`, `Poll`) and the
   loop's decisions (`Drain`: what the iteration queued; `Run`: what ran).
3. Recording costs one list append per event; handles are told apart by an
   id, not kept alive (a handle is named by its `id()` while it lives; the
   loop never holds a dead one).
"""

from __future__ import annotations

import selectors
from asyncio import Handle
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVarTuple, Unpack

from .. import aio
from .._task import Task
from ..aio._core import Core, Timer
from ..aio._watchers import fileno_of

__all__ = [
    "At",
    "Cancel",
    "Drain",
    "Event",
    "Poll",
    "Recorder",
    "Run",
    "Soon",
    "Unwatch",
    "Watch",
    "traced_class",
]

_Ts = TypeVarTuple("_Ts")


class Soon(NamedTuple):
    """call_soon (or call_soon_threadsafe) queued handle `entry`."""

    entry: int


class At(NamedTuple):
    """call_at or call_later made timer `entry`, due at `when` as asked."""

    entry: int
    when: float


class Cancel(NamedTuple):
    entry: int


class Watch(NamedTuple):
    """Handle `entry` became the watcher of (fd, direction)."""

    entry: int
    fd: int
    direction: str


class Unwatch(NamedTuple):
    fd: int
    direction: str


class Poll(NamedTuple):
    """What a poll reported: (fd, direction) pairs."""

    ready: tuple[tuple[int, str], ...]


class Drain(NamedTuple):
    """A drain began at virtual time `now` with `queue` in the run queue:
    handle ids, native tasks as -1 - tid, None for what is not traced."""

    now: float
    queue: tuple[int | None, ...]


class Run(NamedTuple):
    """The drain ran handle `entry` (or stepped native task -1 - entry)."""

    entry: int


class Aborted(NamedTuple):
    """A BaseException left the drain; what it had not run stays queued."""


Event = Soon | At | Cancel | Watch | Unwatch | Poll | Drain | Run | Aborted


class Recorder:
    """Collects one run's trace; `new_loop` makes the traced loop."""

    def __init__(self, loop_class: type[aio.RefloopEventLoop] | None = None) -> None:
        self.loop_class = loop_class or aio.RefloopEventLoop
        self.events: list[Event] = []
        self.names: dict[int, str] = {}
        self._ids: dict[int, int] = {}  # id(handle) -> entry, while it lives
        # Called with each event as it is recorded (the online validator,
        # refloop/explore/_validate.py); what it raises stops the run.
        self.check: Callable[[Event], None] | None = None

    def _add(self, event: Event) -> None:
        self.events.append(event)
        if self.check is not None:
            self.check(event)

    def new_loop(
        self, clock: Callable[[], float], selector: selectors.BaseSelector
    ) -> aio.RefloopEventLoop:
        cls: Any = traced_class(self.loop_class)
        loop: aio.RefloopEventLoop = cls(
            self, clock=clock, selector=_Observed(selector, self)
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


class TracedHandle(Handle):
    """asyncio's Handle, telling the recorder when it is cancelled or runs."""

    __slots__ = ()

    def cancel(self) -> None:
        self._loop._recorder.cancel(self)  # type: ignore[attr-defined]
        super().cancel()

    def _run(self) -> None:
        self._loop._recorder.ran(self)  # type: ignore[attr-defined]
        super()._run()


class TracedTimer(Timer):
    __slots__ = ()

    def cancel(self) -> None:
        self._loop._recorder.cancel(self)  # type: ignore[attr-defined]
        super().cancel()

    def _run(self) -> None:
        self._loop._recorder.ran(self)  # type: ignore[attr-defined]
        super()._run()


class _TracedCore(Core):
    """The mixin in front of a loop's core: each drain's queue is recorded
    as it begins, and native steps through the core's trace hook."""

    _recorder: Recorder

    def __init__(self, aio: aio.RefloopEventLoop, **options: Any) -> None:
        super().__init__(aio, **options)
        self._recorder = aio._recorder  # type: ignore[attr-defined]
        self._trace = self._recorder.native

    def _drain(self) -> None:
        recorder = self._recorder
        # spec: explore.trace
        recorder.drain(self._ready, self._clock())
        try:
            super()._drain()
        except BaseException:
            recorder.aborted()
            raise


class _TracedLoop(aio.RefloopEventLoop):
    """The mixin in front of a loop's class: the calls made of it, as asked."""

    _recorder: Recorder

    def __init__(self, recorder: Recorder, **options: Any) -> None:
        self._recorder = recorder
        super().__init__(**options)

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Any = None,
    ) -> Handle:
        handle = super().call_soon(callback, *args, context=context)
        self._recorder.soon(handle, callback)
        return handle

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Any = None,
    ) -> Handle:
        handle = super().call_soon_threadsafe(callback, *args, context=context)
        self._recorder.soon(handle, callback)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Any = None,
    ) -> Any:
        handle = super().call_at(when, callback, *args, context=context)
        self._recorder.at(handle, callback, when)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Any = None,
    ) -> Any:
        now = self.time()
        handle = super().call_later(delay, callback, *args, context=context)
        # The deadline as asked: the loop's own reading of the same clock.
        self._recorder.at(handle, callback, now + delay)
        return handle

    def _add_callback(self, handle: Handle) -> None:
        """asyncio's own door to the run queue (signal handlers use it)."""
        queued = not handle.cancelled()
        super()._add_callback(handle)  # type: ignore[misc]
        if queued:
            self._recorder.soon(handle, handle._callback)  # type: ignore[attr-defined]

    def _add_reader(
        self, fd: Any, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        handle = super()._add_reader(fd, callback, *args)
        self._recorder.watch(handle, callback, fileno_of(fd), "read")
        return handle

    def _add_writer(
        self, fd: Any, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        handle = super()._add_writer(fd, callback, *args)
        self._recorder.watch(handle, callback, fileno_of(fd), "write")
        return handle

    def _remove_reader(self, fd: Any) -> bool:
        if not self.is_closed():
            self._recorder.unwatch(fileno_of(fd), "read")
        return bool(super()._remove_reader(fd))

    def _remove_writer(self, fd: Any) -> bool:
        if not self.is_closed():
            self._recorder.unwatch(fileno_of(fd), "write")
        return bool(super()._remove_writer(fd))


_CLASSES: dict[type[aio.RefloopEventLoop], type[aio.RefloopEventLoop]] = {}


def traced_class(base: type[aio.RefloopEventLoop]) -> type[aio.RefloopEventLoop]:
    """`base` with the recording mixins in front of it and of its core."""
    made = _CLASSES.get(base)
    if made is not None:
        return made
    core = type(f"Traced{base._Core.__name__}", (_TracedCore, base._Core), {})
    if base is aio.RefloopEventLoop:
        bases: tuple[type, ...] = (_TracedLoop,)
    else:
        bases = (_TracedLoop, base)
    made = _CLASSES[base] = type(f"Traced{base.__name__}", bases, {"_Core": core})
    return made


class _Observed(selectors.BaseSelector):
    """The explorer's selector, with each poll's report recorded."""

    def __init__(self, inner: selectors.BaseSelector, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        found = self._inner.select(timeout)
        self._recorder.poll(found)
        return found

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()
