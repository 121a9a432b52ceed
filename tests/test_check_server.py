"""The checker on a server with a task group shut down by its cancel
(models/server.py): the system passes, its broken variant (a shield that
lets the cancel through) is refuted with a short counterexample that
replays on the model, and the system's paths replay on the real loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from refloop.check import Options, check, load
from refloop.check.judge.liveness import path_to
from refloop.check.report.snippets import harness_snippet, model_snippet
from refloop.check.report.trace import follow, moves_of
from refloop.check.search.instances import finished

MODELS = Path(__file__).resolve().parent.parent / "models"
SYSTEMS = {s.name: s for s in load(MODELS / "server.py")}


def _exec(snippet: str) -> dict[str, object]:
    names: dict[str, object] = {}
    exec(compile(snippet, "<snippet>", "exec"), names)
    return names


@pytest.mark.spec("prop.closed-system", "cancel.scope.group-cancel", "cancel.shield")
def test_the_server_system_passes() -> None:
    result = check(SYSTEMS["server-group-cancel"])
    assert result.verdict == "pass", result.failures
    assert check(
        SYSTEMS["server-group-cancel"], Options(macro=False, symmetry=False)
    ).verdict == ("pass")


@pytest.mark.spec("prop.counterexample", "cancel.shield", "cancel.scope.cancel")
@pytest.mark.parametrize(
    ("name", "rule", "steps"),
    [
        ("server-leaky-shield", "server.goodbye-whole", 13),
        ("server-shallow-cancel", "prop.no-deadlock", 10),
    ],
)
def test_each_broken_variant_is_refuted_shortly(
    name: str, rule: str, steps: int
) -> None:
    system = SYSTEMS[name]
    result = check(system)
    assert set(result.failures) == set(system.expect)
    found = result.failures[rule]
    stem = follow(system, moves_of(found.stem))
    assert len(stem) <= steps
    _exec(model_snippet(system, rule, found.text, stem, None))


@pytest.mark.spec("cancel.scope.group-cancel", "cancel.scope.cancel")
def test_the_server_systems_paths_replay_on_the_real_loop() -> None:
    system = SYSTEMS["server-group-cancel"]
    result = check(system, Options(atomic=True))
    ends = [i for i, w in enumerate(result.graph.worlds) if finished(w)]
    assert ends
    for i in ends:
        stem = follow(system, moves_of(path_to(result.graph, i)))
        snippet = harness_snippet(system, stem)
        assert snippet is not None
        _exec(snippet)
