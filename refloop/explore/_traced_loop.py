"""The traced loop: mixins in front of a loop's class and of its core that
record, into a `Recorder` (refloop/explore/_trace.py), the calls made of the
loop as asked and what the run queue holds as each drain begins.

`traced_class(base)` puts them in front of any RefloopEventLoop subclass, a
broken one included (refloop/testing/trace_broken.py): what the subclass
changes is below the mixin, so the trace shows the caller's intent and the
loop's decision apart.
"""

from __future__ import annotations

from asyncio import Handle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from .. import aio
from ..aio._core import Core
from ..aio._slots import fileno_of

if TYPE_CHECKING:
    from ._trace import Recorder

__all__ = ["traced_class"]

_Ts = TypeVarTuple("_Ts")


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
        # Under the lock, as a post from another thread: the run queue and
        # the trace get the two in the same order.
        with self._recorder.lock:
            handle = super().call_soon(callback, *args, context=context)
            self._recorder.soon(handle, callback)
        return handle

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Any = None,
    ) -> Handle:
        with self._recorder.lock:
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
        with self._recorder.lock:
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
