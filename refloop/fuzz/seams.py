"""Every place where `refloop fuzz` relies on more of Hypothesis than its
documented API, in one file, each with what it assumes. Checked with
Hypothesis 6.140 and 6.170 (6.138 and older fail 1: the inner test took
the factory as an argument); tests/test_fuzz.py fails if one stops holding.

1. `get_state_machine_test(machine)` builds the test that
   `run_state_machine_as_test` runs ("split out so that HypoFuzz can call
   it"); its `inner_test` carries `_hypothesis_internal_add_digest`, and
   `function_digest(inner_test)` is the key the test's examples are stored
   under. We build the test for an instrumented subclass but give it the
   original machine's digest, so both share one key: the campaign, `pytest`
   and `--replay` see the same stored failures.
2. After construction and after every step, the machine's
   `check_invariants(settings, output, runtimes)` is called, and `runtimes`
   maps `execute:rule:NAME` to the total time spent in rule NAME in this
   example. The one entry that grew since the last call names the step's rule.
3. `@seed(n)` on the machine class seeds the run and does nothing else (for
   a @given test it would also drop the database; a state machine's test
   takes its settings from `get_state_machine_test`).
4. `current_build_context().data.events` holds the `event()` labels of the
   example being run, and Hypothesis's own notes on how it drew the data,
   which start with one of OWN_EVENTS and are left out.

One more, in tests only: `tests/test_broken_loops.py` replaces
`hypothesis.internal.conjecture.providers._get_local_constants` (and clears
`CONSTANTS_CACHE`) so that its derandomized hunts draw from the machine's
strategies alone, not from literals of whatever local modules are loaded
(Hypothesis 6.131 and later). The monkeypatch raises if the name is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.internal.reflection import function_digest
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

__all__ = [
    "MIN_HYPOTHESIS",
    "RULE_PREFIX",
    "build_test",
    "database_key",
    "example_events",
]

MIN_HYPOTHESIS = (6, 140)
RULE_PREFIX = "execute:rule:"
OWN_EVENTS = ("Retried draw from ", "Draw for ", "gave up because")


def _inner(test: Callable[[], None]) -> Any:
    return test.hypothesis.inner_test  # type: ignore[attr-defined]


@cache
def database_key(machine: type[RuleBasedStateMachine]) -> bytes:
    """The key under which Hypothesis stores the machine's failures."""
    return function_digest(_inner(get_state_machine_test(machine)))


def build_test(
    fuzzed: type[RuleBasedStateMachine],
    original: type[RuleBasedStateMachine],
    settings: Settings,
    run_seed: int,
) -> Callable[[], None]:
    """A test running `fuzzed` with `run_seed`, storing under the key of
    `original`."""
    hypothesis_seed(run_seed)(fuzzed)
    test = get_state_machine_test(fuzzed, settings=settings)
    inner = _inner(test)
    inner._hypothesis_internal_add_digest = function_digest(original)
    if function_digest(inner) != database_key(original):
        raise RuntimeError(
            "refloop fuzz cannot store examples under the machine's own key with "
            "this version of Hypothesis (see refloop/fuzz/seams.py, 1)"
        )
    return test


def example_events() -> set[str]:
    """The `event()` labels of the example being run (none outside one)."""
    try:
        data = current_build_context().data
    except InvalidArgument:
        return set()
    return {e for e in getattr(data, "events", {}) if not e.startswith(OWN_EVENTS)}
