"""The race catalogue (tests/races): every bug is found within a fixed
budget, every fixed version passes the same budget, and each failure
replays exactly."""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType

import pytest
from races import NAMES, NATIVE, PARTIAL

import refloop
from refloop.explore import explore
from refloop.explore._kind import detect

BUDGET = 300


def _mod(name: str) -> ModuleType:
    return importlib.import_module("races." + name)


@pytest.mark.spec("explore.default", "explore.kind")
@pytest.mark.parametrize("name", NAMES)
def test_the_bug_hides_in_the_default_run_and_on_a_plain_loop(name: str) -> None:
    mod = _mod(name)
    assert detect(mod.buggy) == ("native" if name in NATIVE else "asyncio")
    assert explore(mod.buggy, strategy="default").failure is None
    if name in NATIVE:
        refloop.run(mod.buggy())  # the plain refloop loop: the bug does not show
    else:
        asyncio.run(mod.buggy())  # asyncio's own loop: the bug does not show


@pytest.mark.spec("explore.strategy", "explore.replay")
@pytest.mark.parametrize("name", NAMES)
def test_delay_bounding_finds_the_bug_and_it_replays(name: str) -> None:
    mod = _mod(name)
    result = explore(mod.buggy, strategy="delay", runs=BUDGET)
    assert result.failure is not None, f"{name}: not found in {BUDGET} runs"
    assert result.failure.decider.log, "a failure needs a deviation"
    replay = result.failure.decider.replay()
    again = explore(mod.buggy, replay=replay)
    assert again.failure is not None
    assert type(again.failure.error) is type(result.failure.error)
    assert str(again.failure.error) == str(result.failure.error)


@pytest.mark.spec("explore.strategy")
@pytest.mark.parametrize("name", NAMES)
def test_the_fixed_version_passes_the_same_budget(name: str) -> None:
    mod = _mod(name)
    for strategy in ("delay", "random", "pct"):
        result = explore(mod.fixed, strategy=strategy, runs=BUDGET)
        assert result.failure is None, result.message()


@pytest.mark.spec("explore.strategy")
@pytest.mark.parametrize("name", ["lost_update", "shutdown", "native_lost_update"])
def test_hypothesis_finds_and_shrinks(name: str) -> None:
    result = explore(_mod(name).buggy, strategy="hypothesis", runs=BUDGET)
    assert result.failure is not None
    assert len(result.failure.decider.log) == 1  # shrunk to one deviation


@pytest.mark.spec("explore.kind", "explore.strategy")
@pytest.mark.parametrize("name", ["native_lost_update", "native_stale_reply"])
@pytest.mark.parametrize("strategy", ["random", "pct", "hypothesis"])
def test_every_strategy_finds_the_native_races(name: str, strategy: str) -> None:
    result = explore(_mod(name).buggy, strategy=strategy, runs=BUDGET)
    assert result.failure is not None, f"{name}: {strategy} missed it"
    assert isinstance(result.failure.error, AssertionError)


@pytest.mark.spec("explore.net.partial-recv", "explore.net.partial-send")
@pytest.mark.parametrize("name", PARTIAL)
def test_only_a_partial_read_exposes_the_framing_bugs(name: str) -> None:
    mod = _mod(name)
    found = explore(mod.buggy, strategy="delay", runs=BUDGET)
    assert found.failure is not None
    # One deviation: a read, or a write, that moves part of the bytes.
    assert [d.kind for d in found.failure.decider.log] in (["recv"], ["send"])
    # Loopback: every schedule of delay bounding passes (the kernel hands
    # over what was written in one read), and so does the simulated
    # network when reads are never partial.
    loopback = explore(mod.buggy, strategy="delay", runs=BUDGET, network="loopback")
    assert loopback.failure is None and loopback.runs > 10
    whole = explore(mod.buggy, strategy="delay", runs=BUDGET, partial=False)
    assert whole.failure is None
