"""Replay stored failures, one at a time, exactly as stored.

Each entry is replayed alone through `database.OneEntry` with Hypothesis's
reuse phase only: no generating, no shrinking. If it still fails, Hypothesis
raises its error with the program; if it passes now, Hypothesis deletes it
from the database (its own rule), and `--replay` no longer counts it.

The replay allows many more steps than any campaign uses: a stored example
ends where its own recorded choices say, and a smaller step limit would cut
it short (and Hypothesis would then delete it as no longer failing).
"""

from __future__ import annotations

import traceback
import unittest
from collections.abc import Iterable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import settings as Settings
from hypothesis.database import ExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from .database import OneEntry, entry_id
from .messages import Failure
from .seams import database_key

__all__ = ["REPLAY_STEPS", "Outcome", "dedupe", "failures", "replay", "stored"]

REPLAY_STEPS = 10_000


@dataclass(frozen=True)
class Outcome:
    failure: Failure  # error and program empty when it passes
    fails: bool
    traceback: str = ""


def stored(machine: type[RuleBasedStateMachine], db: ExampleDatabase) -> list[bytes]:
    """The failures stored for `machine`, smallest first."""
    return sorted(db.fetch(database_key(machine)), key=lambda v: (len(v), v))


def replay(
    machine: type[RuleBasedStateMachine], db: ExampleDatabase, values: Iterable[bytes]
) -> list[Outcome]:
    key = database_key(machine)
    outcomes = []
    for value in values:
        settings = Settings(
            database=OneEntry(db, key, value),
            phases=[Phase.reuse],
            stateful_step_count=REPLAY_STEPS,
            deadline=None,
            report_multiple_bugs=False,
            print_blob=False,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.normal,
        )
        passed = Failure(entry_id(value), "", "", replayed=True)
        try:
            run_state_machine_as_test(machine, settings=settings)
        except unittest.SkipTest:
            # Nothing ran: Hypothesis could not read the entry (and dropped it).
            outcomes.append(Outcome(passed, False))
        except Exception as err:
            failure = Failure.from_error(passed.id, err, replayed=True)
            text = "".join(traceback.format_exception(err))
            outcomes.append(Outcome(failure, True, text))
        else:
            outcomes.append(Outcome(passed, False))
    return outcomes


def failures(
    machine: type[RuleBasedStateMachine],
    db: ExampleDatabase,
    reported: dict[str, Failure],
) -> list[Failure]:
    """Every failure stored for `machine`, smallest first: as reported (by a
    campaign's workers) or else as replayed now."""
    values = stored(machine, db)
    unreported = [v for v in values if entry_id(v) not in reported]
    known = dict(reported)
    for outcome in replay(machine, db, unreported):
        if outcome.fails:
            known[outcome.failure.id] = outcome.failure
    return [known[entry_id(v)] for v in values if entry_id(v) in known]


def dedupe(
    machine: type[RuleBasedStateMachine], db: ExampleDatabase, found: list[Failure]
) -> list[Failure]:
    """`found` (smallest first) with each failure once: a later one whose
    error line repeats an earlier one's is the same failure (for an explored
    test the line names the schedule, explore_target.py), and is deleted
    from the database."""
    key = database_key(machine)
    values = {entry_id(v): v for v in db.fetch(key)}
    kept: dict[str, Failure] = {}
    for failure in found:
        if failure.error and failure.error in kept:
            value = values.get(failure.id)
            if value is not None:
                db.delete(key, value)
            continue
        kept.setdefault(failure.error or failure.id, failure)
    return list(kept.values())
