"""The asyncio loop's two bridges: native refloop tasks in the loop, and the
socketpair that signals write to.

Rules this module keeps (spec: aio.native, aio.signals):

1. `spawn` puts a native task in the core's run queue; `join` waits for one
   from asyncio code through an asyncio future, resolved by a native relay
   task (no polling, no thread).
2. Threads reach the loop through the core's wakeup socketpair; asyncio's
   own self-pipe is made only on the first `add_signal_handler`, so signal
   numbers never mix with the thread bridge's bytes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from .._loop import Loop
from .._task import Task

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["Bridges"]

_Ts = TypeVarTuple("_Ts")

# asyncio's selector loop, untyped: its private methods are not in typeshed
# (each one is pinned by tests/test_aio_pins.py).
_Base: Any = asyncio.SelectorEventLoop


class Bridges:
    """Mixed into RefloopEventLoop before asyncio's SelectorEventLoop."""

    _core: Core
    _internal_fds: int

    if TYPE_CHECKING:
        # Provided by the classes this is mixed with (declared for mypy
        # only: a definition here would shadow asyncio's in the MRO).
        def _check_closed(self) -> None: ...

        def create_future(self) -> asyncio.Future[Any]: ...

    # ------------------------------------------------------------ native tasks

    @property
    def native(self) -> Loop:
        """The refloop loop underneath, for its read-only views (`snapshot()`,
        `timers()`: asyncio's timers are in its heap too)."""
        return self._core

    def spawn(self, coro: Any, *, name: str | None = None) -> Task[Any]:
        """Start a native refloop task in this loop (spec: aio.native)."""
        self._check_closed()
        # spec: aio.native
        return self._core.spawn(coro, name=name)

    async def join(self, task: Task[Any]) -> Any:
        """From asyncio code: wait for a native task; its result or error."""
        future = self.create_future()

        async def relay() -> None:
            try:
                result = await task.join()
            except BaseException as err:
                if not future.done():
                    future.set_exception(err)
            else:
                if not future.done():
                    future.set_result(result)

        self._core.spawn(relay(), name=f"join {task.name}")
        return await future

    # ------------------------------------------------------------ self-pipe, close

    def _make_self_pipe(self) -> None:
        # The core's wakeup socketpair is the loop's self-pipe for other
        # threads; asyncio's own pair is made only for signals, on the first
        # add_signal_handler (spec: aio.signals).
        self._ssock: socket.socket | None = None
        self._csock: socket.socket | None = None
        self._internal_fds += 1

    def _close_self_pipe(self) -> None:
        if self._ssock is not None:
            _Base._close_self_pipe(self)
        self._internal_fds -= 1

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        self._check_closed()
        if self._ssock is None:
            # spec: aio.signals
            _Base._make_self_pipe(self)
        _Base.add_signal_handler(self, sig, callback, *args)
