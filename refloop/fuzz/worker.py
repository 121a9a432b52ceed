"""One worker process of a campaign: Hypothesis runs of the target, one after
another, each with a fresh seed, until the campaign says stop.

Rules:

1. The worker stops between steps, never inside one (instrument.Stopped),
   and only when nothing would be lost: on `soft` only while its run has no
   failure in hand (a failure being shrunk is finished first); on `hard`
   (Ctrl-C, or the grace for shrinking is over) at once. Whatever it had
   found is in the database already: Hypothesis saves a failure as soon as
   it sees it, and each smaller one as shrinking finds it.
2. A run that ends with an exception after saving failures found bugs:
   each failure it stored (one per distinct error, each shrunk: Hypothesis
   runs with report_multiple_bugs) is replayed alone, and reported as it
   replays: `Found`. Any other exception is the worker's own error:
   `Crashed`, and the campaign restarts it.
3. A worker whose campaign process has died stops at its next step.
4. SIGINT is ignored (the campaign passes Ctrl-C on as `hard`); the worker's
   stdout and stderr go to /dev/null so that the machine's own output does
   not garble the campaign's display; crashes in C still reach stderr
   through faulthandler.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import traceback
from dataclasses import replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from random import Random

from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import settings as Settings
from hypothesis.stateful import RuleBasedStateMachine

from .database import WorkerView, entry_id, open_database
from .instrument import Stopped, Tally, instrument
from .messages import Counts, Crashed, Failure, Finished, Found, Job, Message, Progress
from .probe import SpecProbe
from .replay import replay
from .seams import build_test, database_key

__all__ = ["RUN_EXAMPLES", "main", "settings_for"]

# Examples per Hypothesis run (10 to 30 s here): a worker picks up what the
# others stored at the start of each run.
RUN_EXAMPLES = 200

# Phase.explain is left out: it re-runs the failure under tracing, which
# takes minutes here.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


def settings_for(db: WorkerView, steps: int) -> Settings:
    return Settings(
        database=db,
        max_examples=RUN_EXAMPLES,
        stateful_step_count=steps,
        deadline=None,
        phases=PHASES,
        report_multiple_bugs=True,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.normal,
    )


def main(job: Job, queue: Queue[Message], soft: Event, hard: Event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.__stderr__ is not None:
        faulthandler.enable(file=sys.__stderr__)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    try:
        _fuzz(job, queue, soft, hard)
    except BaseException:
        queue.put(Crashed(job.worker, traceback.format_exc()))
        raise SystemExit(1) from None
    queue.put(Finished(job.worker))


def _fuzz(job: Job, queue: Queue[Message], soft: Event, hard: Event) -> None:
    machine = job.target.load()
    db = WorkerView(open_database(job.db), database_key(machine))
    probe = SpecProbe().install() if job.spec_coverage else None

    def send(counts: Counts) -> None:
        queue.put(Progress(job.worker, counts))

    campaign = os.getppid()

    def checkpoint() -> None:
        if hard.is_set() or (soft.is_set() and not db.failing):
            raise Stopped
        if os.getppid() != campaign:  # the campaign was killed: stop too
            hard.set()
            raise Stopped

    tally = Tally(send, probe)
    fuzzed = instrument(machine, tally, checkpoint)
    settings = settings_for(db, job.steps)
    seeds = Random(job.seed)
    try:
        while not (soft.is_set() or hard.is_set()):
            db.begin_run()
            test = build_test(fuzzed, machine, settings, seeds.getrandbits(64))
            try:
                test()
            except Stopped:
                break
            except Exception as err:
                if not db.failing:
                    raise
                for failure in _confirm(machine, db, err):
                    queue.put(Found(job.worker, failure))
    finally:
        tally.flush()


def _confirm(
    machine: type[RuleBasedStateMachine], db: WorkerView, err: Exception
) -> list[Failure]:
    """The failures the run stored, each as it replays alone (rule 2)."""
    found, values = [], list(db.saved)
    for value, outcome in zip(values, replay(machine, db.db, values), strict=True):
        replayed = value in db.replayed
        if outcome.fails:
            found.append(replace(outcome.failure, replayed=replayed))
        else:  # Hypothesis has deleted it; say so rather than lose it silently
            flaky = Failure.from_error(entry_id(value), err, replayed=replayed)
            program = "(flaky: it passed when replayed alone, and was dropped)"
            found.append(replace(flaky, program=program))
    return found
