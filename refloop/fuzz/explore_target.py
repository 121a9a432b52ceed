"""Exploration targets: `refloop fuzz tests/test_cache.py::test_updates`
runs an async test's schedule exploration as a campaign.

The test becomes a state machine of one rule, `schedule`, and each example
one step of it: one explored run (refloop.explore.run_one) whose decisions
Hypothesis draws (`HypothesisDecider`), so the campaign's workers, database,
live display, stopping and replay serve it unchanged, and a failure shrinks
to the simplest schedule.

Rules:

1. A failure's error line names its schedule (`ScheduleFailure: <the test's
   error> [schedule <replay>]`): two failures with the same line are the
   same failure, stored once (replay.dedupe).
2. The target names a file and a function, `path.py::name` (as pytest
   does; the file is imported with the first directory above it that is not
   a package on sys.path, so its own imports work), or `module:function`.
   The function is an async def of no arguments, or one decorated with
   `@refloop.testing.explore`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from ..explore import Settings, run_one
from ..explore._api import validate_by_default
from ..explore._decide import HypothesisDecider
from ..explore._kind import detect

__all__ = ["ScheduleFailure", "is_test_target", "load_test", "machine_for_test"]


class ScheduleFailure(AssertionError):
    """The explored test failed under the schedule its message names."""


def is_test_target(spec: str) -> bool:
    return "::" in spec or spec.endswith(".py")


def load_test(spec: str) -> Callable[[], Any]:
    """The async function `spec` names (rule 2)."""
    from .target import TargetError

    if "::" in spec:
        path_text, _, name = spec.partition("::")
        path = Path(path_text).resolve()
        if not path.is_file():
            raise TargetError(f"no test file {path_text!r}")
        base, parts = path.parent, [path.stem]
        while (base / "__init__.py").exists():
            parts.insert(0, base.name)
            base = base.parent
        if str(base) not in sys.path:
            sys.path.insert(0, str(base))
        module_name = ".".join(parts)
    else:
        module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TargetError(f"cannot import {module_name!r}: {err}") from err
    found: Any = module
    for part in name.split("."):
        found = getattr(found, part, None)
    test = inspect.unwrap(found) if callable(found) else found
    if not inspect.iscoroutinefunction(test):
        raise TargetError(f"{spec} is {found!r}: expected an async def test function")
    required = [
        p
        for p in inspect.signature(test).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        names = ", ".join(p.name for p in required)
        raise TargetError(
            f"{spec} takes arguments ({names}); refloop fuzz runs tests of no "
            "arguments (give fixtures defaults, or wrap the test)"
        )
    return test  # type: ignore[no-any-return]


def machine_for_test(spec: str) -> type[RuleBasedStateMachine]:
    """The one-rule state machine that explores the test `spec` names."""
    test = load_test(spec)
    settings = Settings(validate=validate_by_default())
    # spec: explore.kind
    kind = detect(test)

    class Explore(RuleBasedStateMachine):
        @rule(data=st.data())
        def schedule(self, data: Any) -> None:
            outcome = run_one(test, HypothesisDecider(data), settings, kind=kind)
            if outcome.error is None:
                return
            decider, error = outcome.decider, outcome.error
            lines = str(error).strip().splitlines() or [""]
            replay = decider.replay() or "default"
            failure = ScheduleFailure(
                f"{type(error).__name__}: {lines[0]} [schedule {replay}]"
            )
            # The report prints the notes with the program (messages.py).
            # spec: explore.replay
            failure.add_note(f"schedule:\n{decider.schedule()}")
            failure.add_note(
                f'replay: refloop.explore.explore(test, replay="{decider.replay()}")'
            )
            if outcome.tasks:
                failure.add_note(f"tasks:\n{outcome.tasks.rstrip()}")
            raise failure from error

    name = getattr(test, "__qualname__", "test")
    Explore.__name__ = Explore.__qualname__ = f"Explore[{name}]"
    # Each target its own key in the database (seams.py, 1).
    Explore._hypothesis_internal_add_digest = spec.encode()
    return Explore
