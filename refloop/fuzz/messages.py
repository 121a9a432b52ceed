"""What the campaign and its workers tell each other (all picklable).

The campaign starts a worker with a `Job`; the worker puts `Progress`,
`Found`, `Crashed` and finally `Finished` on the campaign's queue.

What is counted (the report's definitions):

- example: one run of the state machine, construction to teardown, in any
  Hypothesis phase: replaying the database, generating, shrinking.
- step: one rule the machine ran (initialize rules included; invariant
  checks and teardown are not steps).
- rule_steps[r]: steps that ran rule r; rule_examples[r]: examples that ran
  rule r at least once.
- spec[id]: examples that exercised spec rule `id` (see probe.py).
- events[label]: examples in which the machine called `event(label)`.
- seconds: worker-seconds the counts took, for per-worker rates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .target import Target

__all__ = [
    "DEFAULT_DB",
    "Counts",
    "Crashed",
    "Failure",
    "Finished",
    "Found",
    "Job",
    "Progress",
]

# Where examples are kept unless --db says otherwise: Hypothesis's own
# default directory, so that pytest replays what campaigns find.
DEFAULT_DB = ".hypothesis/examples"


@dataclass(frozen=True)
class Job:
    worker: int
    seed: int
    target: Target
    db: str
    steps: int
    spec_coverage: bool


@dataclass
class Counts:
    examples: int = 0
    steps: int = 0
    seconds: float = 0.0
    rule_steps: Counter[str] = field(default_factory=Counter)
    rule_examples: Counter[str] = field(default_factory=Counter)
    spec: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)

    def add(self, other: Counts) -> None:
        self.examples += other.examples
        self.steps += other.steps
        self.seconds += other.seconds
        self.rule_steps.update(other.rule_steps)
        self.rule_examples.update(other.rule_examples)
        self.spec.update(other.spec)
        self.events.update(other.events)


@dataclass(frozen=True)
class Failure:
    """A stored failing example, as it replays alone."""

    id: str  # the stored entry's id (database.entry_id)
    error: str  # "ExceptionType: first line of the message"
    program: str  # the shrunk program Hypothesis printed
    replayed: bool  # replayed from the database, rather than found anew

    @classmethod
    def from_error(
        cls, failure_id: str, err: BaseException, *, replayed: bool
    ) -> Failure:
        lines = str(err).strip().splitlines()
        error = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
        # The program is in Hypothesis's notes, after a heading.
        notes = [str(note) for note in getattr(err, "__notes__", [])]
        heading = ("Failing test case", "Falsifying example")
        program = "\n".join(n for n in notes if not n.startswith(heading)).strip()
        return cls(failure_id, error, program, replayed)


@dataclass(frozen=True)
class Progress:
    worker: int
    counts: Counts


@dataclass(frozen=True)
class Found:
    worker: int
    failure: Failure


@dataclass(frozen=True)
class Crashed:
    """The worker hit an error that is not a failure of the machine."""

    worker: int
    error: str


@dataclass(frozen=True)
class Finished:
    worker: int


Message = Progress | Found | Crashed | Finished
