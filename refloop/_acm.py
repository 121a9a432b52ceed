"""`async with` for the core's context managers, written once.

Two shapes, each a tiny base class with no state (`__slots__ = ()`, so the
slotted primitives stay slotted):

- `AsyncWithEnter`: a scope whose `with` form does the work (CancelScope,
  timeout, move_on_after). `async with` is the same block: `__aenter__` is
  `__enter__`, `__aexit__` is `__exit__`, and nothing suspends on the way in
  or out (spec: cancel.scope.async).
- `AsyncWithAcquire`: a primitive held between `await acquire()` and
  `release()` (Lock, Semaphore, Condition). Leaving the block releases it,
  except when the loop closes under the task (GeneratorExit): then nothing
  is given back (spec: sync.loop-closed).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["AsyncWithAcquire", "AsyncWithEnter"]


class AsyncWithEnter:
    """`async with` as the `with` form of the same scope."""

    __slots__ = ()

    def __enter__(self) -> Self:
        raise NotImplementedError

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        # spec: cancel.scope.async
        return self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self.__exit__(kind, exc, tb)


class AsyncWithAcquire:
    """`async with` as `await acquire()` ... `release()`."""

    __slots__ = ()

    async def acquire(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is GeneratorExit:
            # spec: sync.loop-closed
            return
        self.release()
