"""The aio core's epoll selector (refloop/aio/_selector.py) returns what the
standard EpollSelector returns for the same readiness; the private names of
selectors it reads are pinned."""

from __future__ import annotations

import selectors
import socket
import time
from typing import Any

import pytest

import refloop.aio
from refloop.aio._selector import _EpollSelector, default_selector

pytestmark = pytest.mark.skipif(
    not hasattr(selectors, "EpollSelector"), reason="epoll is Linux only"
)


def _poll_both(setup: Any, timeout: float | None = 0) -> tuple[list[Any], list[Any]]:
    got = []
    for made in (_EpollSelector(), selectors.EpollSelector()):
        try:
            setup(made)
            got.append(sorted((k.fd, k.data, ev) for k, ev in made.select(timeout)))
        finally:
            made.close()
    return got[0], got[1]


def test_the_private_names_it_reads_are_there() -> None:
    made = selectors.EpollSelector()
    try:
        assert hasattr(made, "_fd_to_key") and hasattr(made, "_selector"), (
            "selectors.EpollSelector no longer has _fd_to_key/_selector; "
            "refloop/aio/_selector.py reads them"
        )
        assert hasattr(made._selector, "poll")  # type: ignore[attr-defined]
    finally:
        made.close()


def test_a_refloop_aio_loop_polls_through_it() -> None:
    loop = refloop.aio.new_event_loop()
    try:
        assert type(loop._core._selector) is _EpollSelector
        assert type(default_selector()) is _EpollSelector
    finally:
        loop.close()


def test_readiness_is_reported_as_the_standard_selector_does() -> None:
    a, pa = socket.socketpair()
    b, pb = socket.socketpair()
    c, pc = socket.socketpair()
    try:
        pa.send(b"x")  # a: readable and writable
        pc.close()  # c: hung up (readable, at end of stream)

        def setup(made: selectors.BaseSelector) -> None:
            made.register(a, selectors.EVENT_READ | selectors.EVENT_WRITE, "a")
            made.register(b, selectors.EVENT_READ, "b")  # nothing to read
            made.register(c, selectors.EVENT_READ, "c")

        fast, standard = _poll_both(setup)
        assert fast == standard
        assert [entry[1] for entry in fast] == ["a", "c"]
    finally:
        for s in (a, pa, b, pb, c):
            s.close()


def test_nothing_registered_and_no_wait() -> None:
    assert _poll_both(lambda made: None) == ([], [])


def test_a_timeout_is_never_cut_short() -> None:
    made = _EpollSelector()
    try:
        for timeout in (0.0004, 0.0021):
            started = time.monotonic()
            assert made.select(timeout) == []
            assert time.monotonic() - started >= timeout
    finally:
        made.close()
