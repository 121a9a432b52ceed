"""The spec's table of the model's state matches refloop/model/state.py."""

from __future__ import annotations

import re
from pathlib import Path

from refloop.model import State

SPEC = Path(__file__).resolve().parent.parent / "spec" / "02-iteration.md"


def test_every_state_variable_has_a_row_and_no_row_is_stale() -> None:
    text = SPEC.read_text().split("## The state", 1)[1].split("## Task states")[0]
    rows = re.findall(r"^\| `(\w+)` \|", text, flags=re.M)
    assert rows == list(State._fields)
