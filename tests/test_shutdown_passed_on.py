"""refloop.run's shutdown after a KeyboardInterrupt or SystemExit ended its
run(): a task that passes the same exception on (a join, a task group) ends
no iteration of the shutdown and is not reported, so every other task's
cleanup still runs (spec: loop.shutdown.passed-on)."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest

import refloop
from refloop import Loop, Stream, TaskGroup, yield_now


async def _raise_soon(err: BaseException) -> None:
    await yield_now()
    raise err


def _cleaner(done: list[str], name: str) -> Callable[[], Any]:
    async def clean_up_slowly() -> None:
        try:
            await refloop.sleep_forever()
        finally:
            await yield_now()  # cleanup that awaits, twice
            await yield_now()
            done.append(name)

    return clean_up_slowly


def _joiner_passes_it_on(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[BaseException, list[str], list[Any]]:
    """Main joins a child that raises KeyboardInterrupt, beside a task whose
    cleanup awaits: what refloop.run raised, whose cleanup finished, and
    which tasks the loop reported."""
    done: list[str] = []
    reported: list[Any] = []
    interrupt = KeyboardInterrupt()

    async def main() -> None:
        refloop.spawn(_cleaner(done, "cleaner")())
        child = refloop.spawn(_raise_soon(interrupt))
        await child.join()  # raises the child's interrupt again

    monkeypatch.setattr(refloop._loop, "_default_report", reported.append)
    with pytest.raises(KeyboardInterrupt) as caught:
        refloop.run(main())
    assert caught.value is interrupt
    return caught.value, done, reported


@pytest.mark.spec("loop.shutdown.passed-on", "task.join")
def test_a_joiner_passing_the_interrupt_on_does_not_cut_the_shutdown_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, done, reported = _joiner_passes_it_on(monkeypatch)
    assert done == ["cleaner"]
    assert reported == []


@pytest.mark.spec("loop.shutdown.passed-on", "cancel.scope.group-interrupt")
def test_sys_exit_in_a_server_handler_lets_main_clean_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    out: dict[str, Any] = {}

    async def handler(stream: Stream) -> None:
        if await stream.readline() == b"quit\n":
            sys.exit(3)

    async def main() -> None:
        ports: list[int] = []
        server = refloop.spawn(
            refloop.serve_tcp(
                handler,
                "127.0.0.1",
                0,
                started=lambda ls: ports.append(ls[0].getsockname()[1]),
            )
        )
        while not ports:
            await refloop.sleep(0.001)
        out["port"] = ports[0]
        client = await refloop.open_tcp_connection("127.0.0.1", ports[0])
        await client.send_all(b"quit\n")
        try:
            await server.join()
        finally:
            await yield_now()  # main's own cleanup awaits
            out["main cleaned up"] = True
            client.close()

    with (
        caplog.at_level(logging.ERROR, logger="refloop"),
        pytest.raises(SystemExit) as caught,
    ):
        refloop.run(main())
    assert caught.value.code == 3
    assert out["main cleaned up"]
    assert [r.getMessage() for r in caplog.records] == []
    with socket.socket() as probe:  # the listener is closed
        assert probe.connect_ex(("127.0.0.1", out["port"])) != 0


@pytest.mark.spec("loop.shutdown.passed-on")
def test_another_interrupt_in_the_shutdown_still_ends_it() -> None:
    first, second = KeyboardInterrupt("first"), KeyboardInterrupt("second")

    async def stubborn() -> None:
        try:
            await refloop.sleep_forever()
        finally:
            raise second

    async def main() -> None:
        refloop.spawn(stubborn())
        await _raise_soon(first)

    with pytest.raises(KeyboardInterrupt) as caught:
        refloop.run(main())
    assert caught.value is second


@pytest.mark.spec("loop.shutdown.passed-on", "cancel.scope.group-interrupt")
def test_a_group_owner_nobody_joins_is_not_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[Any] = []
    done: list[str] = []

    async def owner() -> None:
        async with TaskGroup() as g:
            g.spawn(_raise_soon(SystemExit(5)))
            await refloop.sleep_forever()

    async def main() -> None:
        refloop.spawn(owner())
        refloop.spawn(_cleaner(done, "cleaner")())
        await refloop.sleep_forever()

    monkeypatch.setattr(refloop._loop, "_default_report", reported.append)
    with pytest.raises(SystemExit) as caught:
        refloop.run(main())
    assert caught.value.code == 5
    assert done == ["cleaner"] and reported == []


class _ForgetfulLoop(Loop):
    """refloop.run's loop before this rule: a task passing the interrupt on
    ends the shutdown again."""

    @property  # type: ignore[override]
    def _passing(self) -> BaseException | None:
        return None

    @_passing.setter
    def _passing(self, value: BaseException | None) -> None:
        pass


@pytest.mark.spec("loop.shutdown.passed-on")
def test_the_checks_catch_a_loop_that_forgets_what_is_passing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(refloop._run, "Loop", _ForgetfulLoop)
    _, done, _ = _joiner_passes_it_on(monkeypatch)
    # The shutdown ended at the join's re-raise; close() then cut the
    # cleaner off in its `finally` (a "must be awaited inside a refloop
    # task" LoopError, logged).
    assert done == []
