"""Every private name refloop.aio relies on, in asyncio and in refloop's own
core, pinned: on a Python (or a core refactor) where one moved, the test says
which name, who uses it, and where to look."""

from __future__ import annotations

import asyncio
import inspect
import socket
import sys
from asyncio import base_events, events, selector_events
from typing import Any

import pytest

import refloop.aio
from refloop import Loop, _lifecycle
from refloop._suspend import Continuation
from refloop._task import Task
from refloop._threads import ThreadBridge
from refloop._timers import Timers
from refloop._waiters import Waiters
from refloop.aio import RefloopEventLoop
from refloop.aio._watchers import AioWaiters

# (owner, name, why refloop.aio needs it)
ASYNCIO_NAMES = [
    (base_events.BaseEventLoop, "_check_closed", "add_reader and run_forever call it"),
    (base_events.BaseEventLoop, "_set_coroutine_origin_tracking", "run_forever"),
    (base_events.BaseEventLoop, "_asyncgen_firstiter_hook", "run_forever"),
    (base_events.BaseEventLoop, "_asyncgen_finalizer_hook", "run_forever"),
    (base_events.BaseEventLoop, "_timer_handle_cancelled", "overridden: cancel"),
    (base_events.BaseEventLoop, "_run_once", "overridden: one core iteration"),
    (base_events.BaseEventLoop, "_add_callback", "signals queue through it"),
    (selector_events.BaseSelectorEventLoop, "_add_reader", "overridden: watchers"),
    (selector_events.BaseSelectorEventLoop, "_remove_reader", "overridden"),
    (selector_events.BaseSelectorEventLoop, "_add_writer", "overridden"),
    (selector_events.BaseSelectorEventLoop, "_remove_writer", "overridden"),
    (selector_events.BaseSelectorEventLoop, "_make_self_pipe", "overridden: lazy"),
    (selector_events.BaseSelectorEventLoop, "_close_self_pipe", "overridden"),
    (selector_events.BaseSelectorEventLoop, "_write_to_self", "overridden: wakeup"),
    (selector_events.BaseSelectorEventLoop, "_read_from_self", "the signal pipe"),
    (selector_events.BaseSelectorEventLoop, "_ensure_fd_no_transport", "add_reader"),
    (events, "_get_running_loop", "run_forever"),
    (events, "_set_running_loop", "run_forever"),
    (asyncio.Handle, "_run", "the drain runs a handle"),
    (asyncio.Handle, "_context", "the drain runs a handle's callback in it"),
    (asyncio.Handle, "_callback", "the drain"),
    (asyncio.Handle, "_loop", "a raising callback is reported to its loop"),
    (asyncio.Handle, "_source_traceback", "debug mode's tracebacks"),
    (asyncio.Handle, "_args", "the drain"),
    (asyncio.format_helpers, "_format_callback_source", "a raising callback"),
    (asyncio.Handle, "_cancelled", "the drain skips a cancelled handle"),
    (selector_events, "_SelectorSocketTransport", "SocketTransport subclasses it"),
    (asyncio.futures, "_set_result_unless_cancelled", "asyncio.sleep's timers"),
    (selector_events.BaseSelectorEventLoop, "_make_socket_transport", "overridden"),
]

# asyncio's socket transport, as refloop.aio's SocketTransport (a subclass,
# refloop/aio/_transport.py) uses it: methods it calls or overrides, and the
# fields its read and write paths read.
_TRANSPORT: object = getattr(selector_events, "_SelectorSocketTransport", None)
TRANSPORT_NAMES = [
    "_read_ready",
    "_read_ready__get_buffer",
    "_read_ready__on_eof",
    "_fatal_error",
    "_maybe_pause_protocol",
    "set_protocol",
    "write",
    "max_size",
]
TRANSPORT_FIELDS = [
    "_sock",
    "_sock_fd",
    "_protocol",
    "_buffer",
    "_conn_lost",
    "_eof",
    "_empty_waiter",
    "_write_ready",
    "_loop",
]

# Instance attributes made by asyncio's constructors.
ASYNCIO_ATTRIBUTES = [
    "_ready",
    "slow_callback_duration",
    "_closed",
    "_stopping",
    "_thread_id",
    "_debug",
    "_current_handle",
    "_internal_fds",
    "_selector",
    "_transports",
]

# refloop's own core, as refloop.aio builds on it (for the core's refactors):
# the loop's methods its Core overrides or calls, and the parts' methods.
CORE_NAMES = [
    (Loop, "_Waiters", "Core installs AioWaiters as its waiters part"),
    (Loop, "_iterate", "run_forever and _run_once: one core iteration"),
    (Loop, "_drain", "overridden: handles and tasks in one run queue"),
    (Loop, "_wake", "overridden: watchers' handles and waiters' tasks"),
    (_lifecycle, "enter", "run_forever"),
    (_lifecycle, "leave", "run_forever"),
    (Loop, "_enqueue", "Core._wake resumes a native waiter's task"),
    (Loop, "snapshot", "overridden: the native tasks of the run queue"),
    (Loop, "call_soon_threadsafe", "the thread bridge"),
    (Loop, "spawn", "native tasks in an asyncio loop"),
    (Task, "_step", "the drain steps a native task"),
    (Task, "_view", "a native failure reported to the exception handler"),
    (Continuation, "_take", "Core._wake"),
    (Waiters, "park", "overridden: refused where a watcher is"),
    (Waiters, "sync", "overridden: the watchers' directions too"),
    (Waiters, "drop", "overridden: a dropped slot cancels its watchers"),
    (Waiters, "sockets", "overridden: descriptors watched by number"),
    (Timers, "push", "Core.push_timer: asyncio timers in the one heap"),
    (ThreadBridge, "notify", "Core.notify: _write_to_self"),
    (ThreadBridge, "drain", "Core._wake: the wakeup after call_soon_threadsafe"),
    (ThreadBridge, "claim", "Core.claim_thread: run_forever in any thread"),
]
# Fields of the loop and of the waiters part that refloop.aio's Core and
# AioWaiters use (read by the subclass of their owner only).
CORE_ATTRIBUTES = ["_ready", "_timers", "_threads", "_waiters", "_selector", "_clock"]
WAITERS_ATTRIBUTES = ["_fdmap", "_selector", "_seq", "changed", "count"]


@pytest.mark.parametrize(("owner", "name", "why"), ASYNCIO_NAMES)
def test_asyncio_private_name(owner: object, name: str, why: str) -> None:
    where = getattr(owner, "__qualname__", getattr(owner, "__name__", owner))
    assert hasattr(owner, name), (
        f"asyncio on Python {sys.version.split()[0]} has no {where}.{name}, which "
        f"refloop.aio relies on ({why}); see refloop/aio/_loop.py"
    )


@pytest.mark.parametrize("name", TRANSPORT_NAMES)
def test_asyncio_transport_method(name: str) -> None:
    assert hasattr(_TRANSPORT, name), (
        f"asyncio's _SelectorSocketTransport on Python {sys.version.split()[0]} "
        f"has no {name}; refloop.aio's SocketTransport uses it "
        "(refloop/aio/_transport.py)"
    )


@pytest.mark.parametrize("name", TRANSPORT_FIELDS)
def test_asyncio_transport_field(name: str) -> None:
    loop = RefloopEventLoop()
    ours, theirs = socket.socketpair()
    try:
        transport: Any = loop._make_socket_transport(ours, asyncio.Protocol())  # type: ignore[attr-defined]
        assert hasattr(transport, name), (
            f"asyncio's socket transport on Python {sys.version.split()[0]} no "
            f"longer sets {name}; refloop.aio's SocketTransport reads it"
        )
        transport.abort()
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        theirs.close()
        loop.close()


@pytest.mark.parametrize("name", ASYNCIO_ATTRIBUTES)
def test_asyncio_loop_attribute(name: str) -> None:
    loop = RefloopEventLoop()
    try:
        assert hasattr(loop, name), (
            f"asyncio's loop constructors on Python {sys.version.split()[0]} no "
            f"longer set {name}; refloop.aio reads it (refloop/aio/_loop.py)"
        )
    finally:
        loop.close()


@pytest.mark.parametrize(("owner", "name", "why"), CORE_NAMES)
def test_core_name(owner: Any, name: str, why: str) -> None:
    assert hasattr(owner, name), (
        f"refloop's {owner.__name__} has no {name} any more; refloop.aio uses it "
        f"({why}): move refloop/aio/_core.py and _watchers.py with the refactor"
    )


@pytest.mark.parametrize("name", CORE_ATTRIBUTES)
def test_core_attribute(name: str) -> None:
    loop = Loop()
    try:
        assert hasattr(loop, name), f"refloop.Loop() has no {name}; refloop.aio uses it"
    finally:
        loop.close()


@pytest.mark.parametrize("name", WAITERS_ATTRIBUTES)
def test_waiters_attribute(name: str) -> None:
    loop = Loop()
    try:
        assert hasattr(loop._waiters, name), (
            f"refloop's Waiters() has no {name}; refloop.aio's AioWaiters uses it"
        )
    finally:
        loop.close()


def test_the_core_installs_its_waiters_part() -> None:
    loop = RefloopEventLoop()
    try:
        assert type(loop._core._waiters) is AioWaiters
        assert loop._core._park == loop._core._waiters.park, (
            "Loop no longer parks through its waiters part's bound method"
        )
    finally:
        loop.close()


def test_handle_and_timer_handle_slots() -> None:
    # _Timer adds one slot to TimerHandle; cancel() must reach the loop.
    assert "_scheduled" in asyncio.TimerHandle.__slots__, "TimerHandle._scheduled moved"
    loop = RefloopEventLoop()
    try:
        timer = loop.call_later(10, print)
        timer.cancel()
        assert not loop._core.timers(), (
            "TimerHandle.cancel() no longer calls loop._timer_handle_cancelled; "
            "a cancelled asyncio timer would stay in refloop's heap"
        )
    finally:
        loop.close()


def test_the_base_constructors_call_make_self_pipe_and_run_via_run_forever() -> None:
    source = inspect.getsource(selector_events.BaseSelectorEventLoop.__init__)
    assert "_make_self_pipe" in source, "BaseSelectorEventLoop no longer makes its pipe"
    source = inspect.getsource(base_events.BaseEventLoop.run_until_complete)
    assert "run_forever" in source, "run_until_complete no longer calls run_forever"


def test_the_selector_loop_adds_readers_through_the_private_method() -> None:
    # sock_recv must reach our _add_reader: the public path is not enough.
    seen: list[int] = []
    loop = RefloopEventLoop()
    original = loop._add_reader

    def spy(fd: int, *args: object) -> asyncio.Handle:
        seen.append(fd)
        return original(fd, *args)

    loop._add_reader = spy  # type: ignore[method-assign]
    a, b = socket.socketpair()
    a.setblocking(False)
    try:

        async def main() -> bytes:
            task = asyncio.ensure_future(loop.sock_recv(a, 10))
            await asyncio.sleep(0)
            b.send(b"x")
            return await task

        assert loop.run_until_complete(main()) == b"x"
        assert a.fileno() in seen, "sock_recv no longer calls loop._add_reader"
    finally:
        a.close()
        b.close()
        loop.close()


def test_runner_takes_a_loop_factory() -> None:
    assert "loop_factory" in inspect.signature(asyncio.Runner).parameters
    assert refloop.aio.run(asyncio.sleep(0, "ok")) == "ok"


@pytest.mark.skipif(sys.platform == "win32", reason="Unix signals")
def test_signal_handlers_write_to_the_loops_csock() -> None:
    from asyncio import unix_events

    source = inspect.getsource(unix_events._UnixSelectorEventLoop.add_signal_handler)
    assert "_csock" in source, (
        "asyncio's add_signal_handler no longer uses loop._csock for "
        "signal.set_wakeup_fd; refloop.aio makes that pair lazily "
        "(RefloopEventLoop.add_signal_handler)"
    )
    assert hasattr(unix_events._UnixSelectorEventLoop, "_process_self_data")
