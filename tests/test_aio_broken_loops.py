"""The asyncio-level broken-loop catalogue: each deliberately broken
refloop.aio loop breaks one aio rule, and the check for that rule catches it
(while the real loop passes every check). A check that cannot fail is a
defect (STYLE.md)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from refloop import VirtualClock
from refloop.aio import RefloopEventLoop

Factory = Callable[..., RefloopEventLoop]


def one_iteration(loop: asyncio.AbstractEventLoop) -> None:
    loop.stop()
    loop.run_forever()


# ------------------------------------------------------------ the checks


def check_cancelled_handle_never_runs(factory: Factory) -> None:
    loop = factory()
    try:
        seen: list[str] = []
        handle = loop.call_soon(seen.append, "cancelled")
        handle.cancel()
        one_iteration(loop)
        assert seen == [], "a cancelled handle ran"
    finally:
        loop.close()


def check_timer_never_fires_early(factory: Factory) -> None:
    clock = VirtualClock(0.0)
    loop = factory(clock=clock)
    try:
        seen: list[str] = []
        loop.call_at(10.0, seen.append, "timer")
        clock.advance(9.999)
        one_iteration(loop)
        assert seen == [], "a timer fired before its deadline by the loop's clock"
        clock.advance(0.001)
        one_iteration(loop)
        assert seen == ["timer"]
    finally:
        loop.close()


def check_no_reader_callback_after_remove(factory: Factory) -> None:
    loop = factory()
    a, b = socket.socketpair()
    try:
        seen: list[str] = []
        loop.add_writer(a, lambda: (seen.append("writer"), loop.remove_reader(a)))
        loop.add_reader(a, seen.append, "reader")
        b.send(b"x")
        one_iteration(loop)
        assert seen == ["writer"], "a reader callback ran after remove_reader"
    finally:
        loop.remove_writer(a)
        loop.close()
        a.close()
        b.close()


def check_threadsafe_call_wakes_the_poll(factory: Factory) -> None:
    loop = factory()
    try:
        seen: list[str] = []
        poster = threading.Timer(0.05, loop.call_soon_threadsafe, (loop.stop,))
        guard = loop.call_later(1.0, loop.stop)
        poster.start()
        started = loop.time()
        loop.run_forever()
        poster.join()
        guard.cancel()
        took = loop.time() - started
        seen.append(f"{took:.2f}")
        assert took < 0.5, (
            f"the thread-safe call's wakeup was lost (woke after {took:.2f} s)"
        )
    finally:
        loop.close()


CHECKS: dict[str, Callable[[Factory], None]] = {
    "cancelled-skip": check_cancelled_handle_never_runs,
    "timer-early": check_timer_never_fires_early,
    "reader-after-remove": check_no_reader_callback_after_remove,
    "lost-wakeup": check_threadsafe_call_wakes_the_poll,
}


# ------------------------------------------------------------ the broken loops


class CancelledStillRuns(RefloopEventLoop):
    """The drain runs what was scheduled, cancelled or not (a loop that keeps
    (callback, args) beside the handle and forgets to look at the handle)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        calls: dict[int, tuple[Any, tuple[Any, ...]]] = {}
        ready = self._core._ready
        schedule = self.call_soon

        def call_soon(callback: Any, *args: Any, context: Any = None) -> Any:
            handle = schedule(callback, *args, context=context)
            calls[id(handle)] = (callback, args)
            return handle

        def drain() -> None:
            for _ in range(len(ready)):
                entry = ready.popleft()
                callback, args = calls.pop(id(entry), (None, ()))
                if callback is not None:
                    callback(*args)
                elif not entry._cancelled:
                    entry._run()

        self.call_soon = call_soon  # type: ignore[method-assign]
        self._core._drain = drain  # type: ignore[method-assign]


class EarlyTimer(RefloopEventLoop):
    """Timers are due up to 10 ms before their deadline (a coarse reading of
    asyncio's clock_resolution slack)."""

    def call_at(
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> Any:
        return super().call_at(when - 0.01, callback, *args, context=context)


class ReaderAfterRemove(RefloopEventLoop):
    """remove_reader takes the watcher out of the table but does not cancel
    its handle, so a callback already queued still runs."""

    def _remove_reader(self, fd: Any) -> bool:
        number = fd if isinstance(fd, int) else fd.fileno()
        found = [h for n, d, h in self._core.watchers() if (n, d) == (number, "read")]
        handle: Any = found[0] if found else None
        if handle is not None:
            handle._cancelled = True  # cancel() must not be reached ...
            removed = super()._remove_reader(fd)
            handle._cancelled = False  # ... and the queued callback stays live
            return removed
        return super()._remove_reader(fd)


class LostWakeup(RefloopEventLoop):
    """call_soon_threadsafe queues the handle but never wakes the poll."""

    def _write_to_self(self) -> None:
        pass


BROKEN: list[tuple[str, Factory]] = [
    ("cancelled-skip", CancelledStillRuns),
    ("timer-early", EarlyTimer),
    ("reader-after-remove", ReaderAfterRemove),
    ("lost-wakeup", LostWakeup),
]


@pytest.mark.spec("aio.cancelled-skip", "aio.timer.order", "aio.watch.remove")
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_real_loop_passes_every_check(name: str) -> None:
    CHECKS[name](RefloopEventLoop)


@pytest.mark.spec("aio.threadsafe")
@pytest.mark.parametrize(("name", "broken"), BROKEN, ids=[n for n, _ in BROKEN])
def test_each_broken_loop_is_caught_by_its_check(name: str, broken: Factory) -> None:
    with pytest.raises(AssertionError):
        CHECKS[name](broken)
