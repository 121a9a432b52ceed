"""Helpers shared by the unit tests of the core and of the socket
operations (test_continuations, test_tasks, test_lifecycle, test_run_once,
test_ops, test_waiters) and of the stateful machine's rules driven by hand
(test_faults, test_sigint_machine, test_close_cleanup); their fixtures are
in conftest.py."""

from __future__ import annotations

import gc
import os
import selectors
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from refloop import Continuation, model, suspend
from refloop.testing import LoopMachine

Pair = tuple[socket.socket, socket.socket]


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class SpySelector(selectors.DefaultSelector):
    """The real selector, recording what the loop asks of it.

    It polls without blocking whatever timeout the loop asks for, so a test
    can see a request to block (None) without hanging. With `reverse`, it
    hands the loop the kernel's events in reverse order.
    """

    def __init__(self, *, reverse: bool = False) -> None:
        super().__init__()
        self.reverse = reverse
        self.timeouts: list[float | None] = []
        self.events: list[list[tuple[selectors.SelectorKey, int]]] = []
        # (fd, whether the descriptor was still open at the call)
        self.unregistered: list[tuple[int, bool]] = []
        self.closed = False

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        events = super().select(0)
        if self.reverse:
            events.reverse()
        self.events.append(events)
        return events

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self.unregistered.append((fd, is_open(fd)))
        return super().unregister(fileobj)

    def close(self) -> None:
        self.closed = True
        super().close()


class RegistrationSpy(selectors.DefaultSelector):
    """The real selector, recording registrations and whether a descriptor
    was still open when it was unregistered."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: list[int] = []
        self.unregistered: list[tuple[int, bool]] = []

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        key = super().register(fileobj, events, data)
        if data is not None:  # not the loop's own wakeup socket
            self.registered.append(key.fd)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        try:
            os.fstat(fd)
            still_open = True
        except OSError:
            still_open = False
        key = super().unregister(fileobj)
        if key.data is not None:  # not the loop's own wakeup socket
            self.unregistered.append((fd, still_open))
        return key


def fill(sock: socket.socket) -> None:
    """Send until the kernel will take no more, so a writer must wait."""
    chunk = b"f" * 65536
    while True:
        try:
            sock.send(chunk)
        except BlockingIOError:
            return


def drain(sock: socket.socket) -> int:
    """Receive everything waiting; return how many bytes."""
    total = 0
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return total
        if not data:
            return total
        total += len(data)


async def park(box: list[Continuation]) -> object:
    """Suspend, leaving the continuation in `box` for the test to resume."""
    return await suspend(box.append)


async def record(log: list[object], item: object) -> None:
    log.append(item)


# How a refloop primitive refuses a call made where no loop runs.
NOWHERE = (
    "was called where no refloop loop runs (another thread, or outside the "
    "loop); call it from a task or a callback of its loop, or hand it over "
    "with loop.call_soon_threadsafe()"
)


def raised(coro: Coroutine[Any, Any, Any]) -> BaseException:
    """What `coro` raises at its first step (it must raise), closed after."""
    try:
        coro.send(None)
    except BaseException as err:
        return err
    finally:
        coro.close()
    raise AssertionError(f"{coro!r} did not raise")


@contextmanager
def machine(
    *programs: tuple[model.Op, ...], kind: type[LoopMachine] = LoopMachine
) -> Iterator[LoopMachine]:
    """A stateful machine started with `programs` and checked once, driven
    by the test's own calls of its rules; torn down (and its loop disposed
    of) however the test ends."""
    state = kind()
    try:
        state.start(programs=list(programs))
        state.agrees()
        yield state
    finally:
        state.teardown()


def refused_from_another_thread(call: Callable[[], object]) -> BaseException:
    """What `call()` raises when another thread makes it (it must raise)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="intruder")
    thread.start()
    thread.join()
    assert errors, "the call was not refused"
    return errors[0]


def open_fds() -> int:
    """How many descriptors the process holds, once the garbage an earlier
    test dropped is collected (a socket in a reference cycle closes then,
    not in the middle of the next test's count). What survives is frozen
    (gc.freeze): by the time these tests run the suite's heap is large, and
    a full collection of it took about a second, twice per test."""
    gc.collect()
    gc.freeze()
    return len(os.listdir("/proc/self/fd"))
