"""The checker on synchronisation (models/sync.py): the systems pass, each
broken variant is refuted with a short counterexample that replays on the
model, and paths of the channel system replay on the real loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from refloop.check import NO_DEADLOCK, Options, check, load
from refloop.check.judge.liveness import path_to
from refloop.check.report.snippets import harness_snippet, model_snippet
from refloop.check.report.trace import follow, moves_of
from refloop.check.search.instances import finished

MODELS = Path(__file__).resolve().parent.parent / "models"
SYSTEMS = {s.name: s for s in load(MODELS / "sync.py")}


def _exec(snippet: str) -> dict[str, object]:
    names: dict[str, object] = {}
    exec(compile(snippet, "<snippet>", "exec"), names)
    return names


@pytest.mark.spec("prop.closed-system", "sync.lock.handoff", "chan.cancel")
@pytest.mark.parametrize(
    "name", ["chan-producer-consumers", "lock-across-await", "event-late-waiter"]
)
def test_the_sync_systems_pass(name: str) -> None:
    result = check(SYSTEMS[name])
    assert result.verdict == "pass", result.failures


@pytest.mark.spec("prop.counterexample", "sync.lock.handoff", "chan.cancel")
@pytest.mark.spec("sync.event.wait", "inv.sync-queues", "prop.no-deadlock")
@pytest.mark.parametrize(
    ("name", "rule", "steps"),
    [
        ("chan-lossy", "chan.nothing-lost", 10),
        ("lock-two-wake", "lock.exclusive", 7),
        ("lock-forgotten-release", NO_DEADLOCK, 6),
        ("event-late", "inv.sync-queues", 6),
    ],
)
def test_each_broken_variant_is_refuted_shortly(
    name: str, rule: str, steps: int
) -> None:
    system = SYSTEMS[name]
    result = check(system)
    assert set(result.failures) >= set(system.expect) and rule in result.failures
    found = result.failures[rule]
    stem = follow(system, moves_of(found.stem))
    assert len(stem) <= steps
    _exec(model_snippet(system, rule, found.text, stem, None))


@pytest.mark.spec("chan.recv", "chan.close", "chan.send.handoff")
def test_the_channel_systems_paths_replay_on_the_real_loop() -> None:
    system = SYSTEMS["chan-producer-consumers"].variant(env=())
    result = check(system, Options(atomic=True))
    ends = [i for i, w in enumerate(result.graph.worlds) if finished(w)]
    assert ends
    for i in ends[:3]:
        stem = follow(system, moves_of(path_to(result.graph, i)))
        snippet = harness_snippet(system, stem)
        assert snippet is not None
        _exec(snippet)
