"""Hypothesis profiles, the `spec` marker, and the fixtures the unit tests
of the core and of the socket operations share (loops closed when the test
ends; socket pairs and TCP sockets closed when it ends).

Profiles: `ci` (the default: 200 examples of 50 steps for the stateful test),
`heavy` (for long runs), `dev` (quick), `mutation` (for mutmut). Choose
with REFLOOP_PROFILE or pytest's --hypothesis-profile.

Also what the broken-loop hunts share (tests/test_broken_loops.py,
tests/test_broken_primitives.py): their settings (`hunt`), the fixture that
keeps Hypothesis's draws independent of the modules loaded
(`machine_strategies_only`), the machine's rules by group and `without`,
which takes rules out of a machine.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _helpers import Pair
from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import providers

from refloop import Loop

# A shell starts a background job (`pytest &`, `nohup`) with SIGINT ignored,
# and every program it starts inherits that: the Ctrl-C tests (loop.sigint,
# here and in the programs they run) would skip their rule or wait for a
# Ctrl-C that never arrives. The suite runs with Python's own handler.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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


def printed_steps(caught: BaseException) -> list[str]:
    """The actions of the failing program Hypothesis printed in the notes of
    `caught` (not the invariant checks or the teardown)."""
    notes = "\n".join(getattr(caught, "__notes__", []))
    return [
        line
        for line in notes.splitlines()
        if line.startswith("state.")
        and not line.startswith(("state.agrees", "state.teardown"))
    ]


# A hunt for a broken loop: many short derandomized programs, shrunk so the
# failing one can be read. Explain is left out: it re-runs the failure under
# coverage tracing, which costs minutes here and adds nothing to the verdict.
HUNT = settings(
    max_examples=3000,
    stateful_step_count=20,
    deadline=None,
    database=None,
    derandomize=True,
    report_multiple_bugs=False,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)

# The stateful machine's rules (refloop/testing), by what they drive. A hunt
# leaves out the groups that cannot reach its defect: its budget then goes to
# the rules that can, and a rule added to the machine for something else does
# not change what the hunt finds.
# The OS's faults (env.fault) land on sockets: they go with the socket rules.
SOCKET_RULES = (
    "peer_send",
    "peer_close",
    "peer_recv",
    "peer_connect",
    "peer_wake_all",
    "inject_fault",
)
TIMER_CALLBACK_RULES = ("call_later",)
IDLE_RULES = ("call_when_idle",)
THREAD_CALL_RULES = ("thread_call",)
CALLBACK_RULES = TIMER_CALLBACK_RULES + IDLE_RULES + THREAD_CALL_RULES
FOREIGN_RULES = ("foreign_call",)
RUN_RULES = ("run", "run_interrupted")
LIFECYCLE_RULES = ("run_forever", "stop", "shutdown", "close", "spawn_cleanup")
CHURN_RULES = ("churn_timers",)  # the heap rebuilt around live timers


def _not_a_rule(self: object, *args: object, **kwargs: object) -> None:
    """Takes a rule's place in a subclass, so Hypothesis no longer draws it."""


def without(machine: type, rules: tuple[str, ...]) -> type:
    """A subclass of the stateful machine `machine` that never draws `rules`."""
    for name in rules:
        assert callable(getattr(machine, name, None)), f"{machine} has no rule {name}"
    restricted = type(machine.__name__, (machine,), {})
    for name in rules:
        setattr(restricted, name, _not_a_rule)
    return restricted


@pytest.fixture
def hunt() -> settings:
    """The settings of a broken-loop hunt."""
    return HUNT


@pytest.fixture
def machine_strategies_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hypothesis (since 6.131) mixes literal constants from every local
    module loaded so far into what it draws, so a derandomized hunt changed
    with code that has nothing to do with it: loading the model checker's
    actors and models/threads.py at collection made the NewestFirstLoop hunt
    miss. With this fixture a hunt draws from the machine's strategies alone."""
    monkeypatch.setattr(providers, "_get_local_constants", providers.Constants)
    providers.CONSTANTS_CACHE.cache.clear()
    yield
    providers.CONSTANTS_CACHE.cache.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` (minutes of one core: CrossHair's check, the
    mutation sample) run first: with `-n auto` a worker starts on each at
    once while the others share the rest, instead of one worker finishing
    alone with them at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
