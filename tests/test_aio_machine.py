"""The asyncio-level stateful test (refloop/testing/aio_machine.py): refloop.aio
agrees with the model of spec/13-asyncio.md on every run; each broken loop of
the catalogue (refloop/testing/aio_broken.py) is caught; asyncio's default
loop agrees once the programs that show its recorded differences are left
out; the machine finds a difference of uvloop's (docs/asyncio-differences.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from refloop.testing.aio_adapters import (
    Adapter,
    asyncio_adapter,
    refloop_adapter,
    refloop_factory,
    uvloop_adapter,
)
from refloop.testing.aio_broken import AIO_BROKEN_LOOPS
from refloop.testing.aio_machine import AioMismatch, aio_machine_for

RULES = [
    "aio.call-soon",
    "aio.run-queue",
    "aio.cancelled-skip",
    "aio.timer.order",
    "aio.watch.replace",
    "aio.watch.level",
    "aio.watch.remove",
    "aio.watch.order",
    "aio.threadsafe",
    "aio.stop",
    "aio.iteration",
    "aio.future.callbacks",
    "aio.reference",
]

_quiet: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "database": None,
}
# Derandomized: a CI run checks the same 40 programs every time. A random
# search can still find differences not yet recorded; record them in
# docs/asyncio-differences.md. (One such report, a cancelled handle queued by
# a writer's callback on uvloop, 2026-12-02, was a defect of the model,
# mended: every loop agrees; see that file.)
AGREE = settings(max_examples=40, stateful_step_count=30, derandomize=True, **_quiet)
# Looking for a known failure: no shrinking, stop at the first found.
# Derandomized, so that whether it is found does not depend on the run.
FIND = settings(
    max_examples=300,
    stateful_step_count=30,
    phases=[Phase.generate],
    derandomize=True,
    **_quiet,
)


def _run(machine: type[Any], chosen: settings) -> None:
    case = machine.TestCase
    case.settings = chosen
    case().runTest()


@pytest.mark.spec(*RULES)
def test_refloop_aio_agrees_with_the_model() -> None:
    _run(aio_machine_for(refloop_adapter), AGREE)


@pytest.mark.spec(*RULES)
@pytest.mark.parametrize("name", sorted(AIO_BROKEN_LOOPS))
def test_each_broken_loop_is_caught_by_the_machine(name: str) -> None:
    adapter = Adapter(name, refloop_factory(AIO_BROKEN_LOOPS[name]))
    with pytest.raises(AioMismatch):
        _run(aio_machine_for(adapter), FIND)


@pytest.mark.spec("aio.reference")
def test_asyncio_agrees_apart_from_its_recorded_differences() -> None:
    machine = aio_machine_for(
        asyncio_adapter, restrict=frozenset({"one-watcher", "distinct-deadlines"})
    )
    _run(machine, AGREE)


@pytest.mark.spec("aio.reference")
def test_uvloop_agrees_apart_from_its_recorded_differences() -> None:
    pytest.importorskip("uvloop")
    left_out = {"no-timers", "pre-stop-only", "no-drain", "one-watcher", "no-replace"}
    _run(aio_machine_for(uvloop_adapter, restrict=frozenset(left_out)), AGREE)


@pytest.mark.spec("aio.reference")
def test_the_machine_finds_a_recorded_difference_of_asyncio() -> None:
    with pytest.raises(AioMismatch, match="run"):
        _run(aio_machine_for(asyncio_adapter), FIND)


@pytest.mark.spec("aio.reference")
def test_the_machine_finds_a_recorded_difference_of_uvloop() -> None:
    pytest.importorskip("uvloop")
    with pytest.raises(AioMismatch, match="run"):
        _run(aio_machine_for(uvloop_adapter), FIND)


@pytest.mark.spec("aio.cancelled-skip", "aio.timer.order", "aio.watch.remove")
@pytest.mark.parametrize("name", sorted(AIO_BROKEN_LOOPS))
def test_the_focused_checks_catch_the_catalogue_too(name: str) -> None:
    from test_aio_broken_loops import CHECKS

    with pytest.raises(AssertionError):
        CHECKS[name](AIO_BROKEN_LOOPS[name])


@pytest.mark.spec("aio.reference")
def test_the_asyncio_model_imports_nothing_outside_the_model() -> None:
    import ast
    from pathlib import Path

    import refloop.model.aio as model

    tree = ast.parse(Path(model.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert imported <= {"__future__", "typing"}, imported
