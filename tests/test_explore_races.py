"""The race catalogue (tests/races): every bug is found within a fixed
budget, every fixed version passes the same budget, and each failure
replays exactly."""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType

import pytest
from races import NAMES

from refloop.explore import explore

BUDGET = 300


def _mod(name: str) -> ModuleType:
    return importlib.import_module("races." + name)


@pytest.mark.spec("explore.default")
@pytest.mark.parametrize("name", NAMES)
def test_the_bug_hides_in_the_default_run_and_on_asyncio(name: str) -> None:
    mod = _mod(name)
    assert explore(mod.buggy, strategy="default").failure is None
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
@pytest.mark.parametrize("name", ["lost_update", "shutdown"])
def test_hypothesis_finds_and_shrinks(name: str) -> None:
    result = explore(_mod(name).buggy, strategy="hypothesis", runs=BUDGET)
    assert result.failure is not None
    assert len(result.failure.decider.log) == 1  # shrunk to one deviation
