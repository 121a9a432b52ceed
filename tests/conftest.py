"""Hypothesis profiles, the `spec` marker, and the fixtures the unit tests
of the core and of the socket operations share (loops closed when the test
ends; socket pairs and TCP sockets closed when it ends).

Profiles: `ci` (the default: 200 examples of 50 steps for the stateful test),
`heavy` (for long runs), `dev` (quick), `mutation` (for mutmut). Choose
with REFLOOP_PROFILE or pytest's --hypothesis-profile.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _helpers import Pair
from hypothesis import HealthCheck, Phase, settings

from refloop import Loop

_common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=200, stateful_step_count=50, **_common)
settings.register_profile(
    "heavy", max_examples=5000, stateful_step_count=100, **_common
)
settings.register_profile("dev", max_examples=30, stateful_step_count=30, **_common)
# For mutation testing (docs/mutation.md): few examples, no shrinking (a
# mutant is killed by the first failure; shrinking it only costs time) and
# no example database and derandomized, so a verdict never depends on an
# earlier run or on luck.
settings.register_profile(
    "mutation",
    max_examples=100,
    stateful_step_count=50,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    derandomize=True,
    **_common,
)
settings.load_profile(os.environ.get("REFLOOP_PROFILE", "ci"))


@pytest.fixture
def make_loop() -> Iterator[Callable[..., Loop]]:
    """Loops that are closed when the test ends, so no coroutine is left
    unawaited."""
    loops: list[Loop] = []

    def make(**kwargs: Any) -> Loop:
        loop = Loop(**kwargs)
        loops.append(loop)
        return loop

    yield make
    for loop in loops:
        loop.close()


@pytest.fixture
def loop(make_loop: Callable[..., Loop]) -> Loop:
    return make_loop()


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test made; closed when it ends."""
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


@pytest.fixture
def make_pair(sockets: list[socket.socket]) -> Callable[[], Pair]:
    def make() -> Pair:
        a, b = socket.socketpair()
        sockets.extend((a, b))
        a.setblocking(False)
        b.setblocking(False)
        return a, b

    return make


@pytest.fixture
def pair(make_pair: Callable[[], Pair]) -> Pair:
    return make_pair()


@pytest.fixture
def tcp(sockets: list[socket.socket]) -> Callable[[], socket.socket]:
    """A factory of non-blocking IPv4 TCP sockets."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sockets.append(sock)
        sock.setblocking(False)
        return sock

    return make


@pytest.fixture
def listener(tcp: Callable[[], socket.socket]) -> socket.socket:
    sock = tcp()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


# Every explored run in the suite, and in the subprocesses it starts (the
# pytest plugin's, refloop fuzz's), validates its trace against the model
# (spec: explore.validate).
os.environ.setdefault("REFLOOP_EXPLORE_VALIDATE", "1")
