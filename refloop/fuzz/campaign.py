"""A campaign: worker processes fuzzing one target into one database until
time or examples run out, the first failure (with --exitfirst), or Ctrl-C.

Rules:

1. Stopping is two-stage. `soft` (time is up, the examples are used, the
   first failure with --exitfirst): workers stop at their next step unless
   they are shrinking a failure, which they may finish for GRACE seconds.
   `hard` (Ctrl-C, or the grace is over): workers stop at their next step.
   A worker still running KILL_AFTER seconds after `hard` is killed. A
   second Ctrl-C kills at once. Nothing found is lost either way: it is in
   the database (worker.py, rule 1).
2. A worker that dies without saying `Finished` has crashed: it is
   reported and restarted with a new seed, unless the campaign is stopping
   or the same worker crashed MAX_CRASHES times without running an example.
3. The report's failures are the database's: every failure stored under the
   target's key when the campaign ends. One no worker reported (its
   shrinking was cut short) is replayed here to show its program.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from .database import check, open_database
from .display import Display
from .messages import (
    DEFAULT_DB,
    Counts,
    Crashed,
    Failure,
    Finished,
    Found,
    Job,
    Message,
    Progress,
)
from .probe import SpecProbe
from .replay import dedupe, failures
from .seams import database_key
from .target import Target
from .worker import main as worker_main

__all__ = ["Config", "Crash", "Summary", "run"]

GRACE = 30.0
KILL_AFTER = 5.0
MAX_CRASHES = 3


@dataclass(frozen=True)
class Config:
    target: Target
    db: str = DEFAULT_DB
    workers: int = 1
    seconds: float | None = None
    examples: int | None = None
    steps: int = 50
    seed: int = 0
    spec_coverage: bool = True
    exitfirst: bool = False


@dataclass(frozen=True)
class Crash:
    worker: int
    at: float
    exitcode: int | None
    error: str
    restarted: bool


@dataclass
class Summary:
    config: Config
    machine: str
    spec_ids: frozenset[str]
    counts: Counts = field(default_factory=Counts)
    found: list[tuple[float, int, Failure]] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    elapsed: float = 0.0
    stopped_by: str = ""
    stored: list[Failure] = field(default_factory=list)


@dataclass
class _Slot:
    worker: int
    process: BaseProcess
    generation: int = 0
    crashes: int = 0  # in a row, with no example run in between
    done: bool = False
    error: str = ""


def run(config: Config, display: Display) -> Summary:
    return _Campaign(config, display).run()


class _Campaign:
    def __init__(self, config: Config, display: Display) -> None:
        self.config = config
        self.display = display
        self.machine = config.target.load()
        self.key = database_key(self.machine)
        self.db = open_database(config.db)
        check(self.db, self.key, config.db)
        ids = SpecProbe().ids if config.spec_coverage else frozenset[str]()
        self.summary = Summary(config, self.machine.__name__, ids)
        self.context = multiprocessing.get_context("spawn")
        self.queue: multiprocessing.Queue[Message] = self.context.Queue()
        self.soft = self.context.Event()
        self.hard = self.context.Event()
        self.slots: list[_Slot] = []
        self.started = time.monotonic()
        self.soft_at: float | None = None
        self.hard_at: float | None = None

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> Summary:
        self.display.start(self.summary)
        for worker in range(self.config.workers):
            self.slots.append(_Slot(worker, self._spawn(worker, 0)))
        while not all(slot.done for slot in self.slots):
            try:
                self._tick()
            except KeyboardInterrupt:
                if self.hard.is_set():
                    self._kill("a second Ctrl-C")
                else:
                    self._stop("Ctrl-C", hard=True)
        for slot in self.slots:
            slot.process.join()
        self._drain(0)
        self.summary.elapsed = self.now()
        self.display.finish(self.summary)
        reported = {failure.id: failure for _, _, failure in self.summary.found}
        try:
            found = failures(self.machine, self.db, reported)
            self.summary.stored = dedupe(self.machine, self.db, found)
        except KeyboardInterrupt:  # the unreported ones stay in the database
            self.summary.stored = list(reported.values())
        return self.summary

    def _spawn(self, worker: int, generation: int) -> BaseProcess:
        c = self.config
        seed = c.seed + worker + generation * c.workers
        job = Job(worker, seed, c.target, c.db, c.steps, c.spec_coverage)
        process = self.context.Process(
            target=worker_main,
            args=(job, self.queue, self.soft, self.hard),
            name=f"refloop-fuzz-{worker}",
            daemon=True,
        )
        # Started with SIGINT ignored, a worker never sees a KeyboardInterrupt,
        # not even while it is still importing.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        return process

    def _tick(self) -> None:
        self._drain(0.2)
        now, config, counts = self.now(), self.config, self.summary.counts
        if config.seconds is not None and now >= config.seconds:
            self._stop("time is up")
        if config.examples is not None and counts.examples >= config.examples:
            self._stop("the examples are done")
        if self.soft_at is not None and now - self.soft_at >= GRACE:
            self._stop(f"shrinking took over {GRACE:.0f} s", hard=True)
        if self.hard_at is not None and now - self.hard_at >= KILL_AFTER:
            self._kill(f"still running {KILL_AFTER:.0f} s after stop")
        for slot in self.slots:
            if not slot.done and not slot.process.is_alive():
                self._drain(0)  # what it said before it exited
                if not slot.done:
                    self._crashed(slot)
        self.display.update(self.summary, now)

    def _drain(self, timeout: float) -> None:
        try:
            message = self.queue.get(timeout=timeout) if timeout else None
            while True:
                if message is not None:
                    self._handle(message)
                message = self.queue.get_nowait()
        except queues.Empty:
            pass

    def _handle(self, message: Message) -> None:
        slot = self.slots[message.worker]
        if isinstance(message, Progress):
            self.summary.counts.add(message.counts)
            if message.counts.examples:
                slot.crashes = 0
        elif isinstance(message, Found):
            self.summary.found.append((self.now(), message.worker, message.failure))
            self.display.found(message.worker, message.failure, self.now())
            if self.config.exitfirst:
                self._stop("a failure was found (--exitfirst)")
        elif isinstance(message, Crashed):
            slot.error = message.error
        elif isinstance(message, Finished):
            slot.done = True

    def _crashed(self, slot: _Slot) -> None:
        slot.crashes += 1
        stopping = self.soft.is_set() or self.hard.is_set()
        restart = not stopping and slot.crashes < MAX_CRASHES
        crash = Crash(
            slot.worker, self.now(), slot.process.exitcode, slot.error, restart
        )
        self.summary.crashes.append(crash)
        self.display.crashed(crash)
        slot.error = ""
        if restart:
            slot.generation += 1
            slot.process = self._spawn(slot.worker, slot.generation)
        else:
            slot.done = True
            if all(s.done for s in self.slots):
                self.summary.stopped_by = self.summary.stopped_by or "workers crashed"

    def _stop(self, why: str, *, hard: bool = False) -> None:
        if not self.soft.is_set():
            self.soft.set()
            self.soft_at = self.now()
            self.summary.stopped_by = why
            self.display.note(f"stopping: {why}")
        if hard and not self.hard.is_set():
            self.hard.set()
            self.hard_at = self.now()
            if why == "Ctrl-C":
                self.summary.stopped_by = why

    def _kill(self, why: str) -> None:
        alive = [slot for slot in self.slots if slot.process.is_alive()]
        if alive:
            self.display.note(f"killing {len(alive)} worker(s): {why}")
        for slot in alive:
            slot.process.kill()
            slot.process.join()
