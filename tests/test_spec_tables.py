"""The spec's table of the model's state matches refloop/model/state.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from refloop.model import Action, State

SPEC = Path(__file__).resolve().parent.parent / "spec" / "02-iteration.md"


def test_every_state_variable_has_a_row_and_no_row_is_stale() -> None:
    text = SPEC.read_text().split("## The state", 1)[1].split("## Task states")[0]
    rows = re.findall(r"^\| `(\w+)` \|", text, flags=re.M)
    assert rows == list(State._fields)


README = SPEC.parent / "README.md"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_transitions_the_spec_names_are_the_models() -> None:
    """spec/README.md's list of transitions is the model's Action union,
    and each is a method of the harness and a rule of the stateful machine
    under the same name."""
    from hypothesis.stateful import RULE_MARKER

    from refloop.testing import LoopMachine
    from refloop.testing.harness import Harness

    text = README.read_text().split("<!-- transitions -->")[1]
    named = re.findall(r"`(\w+)`", text.split("<!-- /transitions -->")[0])
    assert len(named) == len(set(named)), named
    actions = {_snake(kind.__name__) for kind in get_args(Action)}
    assert set(named) == actions
    rules = {
        name
        for name in dir(LoopMachine)
        if getattr(getattr(LoopMachine, name), RULE_MARKER, None) is not None
    }
    assert actions <= rules, sorted(actions - rules)
    assert all(callable(getattr(Harness, name, None)) for name in actions), sorted(
        n for n in actions if not callable(getattr(Harness, n, None))
    )
