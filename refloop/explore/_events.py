"""The events of an explored run's trace (spec: explore.trace): the calls
made of the loop as asked (`Soon`, `At`, `Cancel`, `Watch`, `Unwatch`), what
each poll reported (`Poll`), and the loop's decisions (`Drain`: the run queue
as a drain begins; `Run`: what ran). Short reprs, so that a trace pasted from
a failure is a test (tests/test_explore_validate.py)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Aborted",
    "At",
    "Cancel",
    "Drain",
    "Event",
    "Poll",
    "Run",
    "Soon",
    "Unwatch",
    "Watch",
]


class Soon(NamedTuple):
    """call_soon (or call_soon_threadsafe) queued handle `entry`."""

    entry: int


class At(NamedTuple):
    """call_at or call_later made timer `entry`, due at `when` as asked."""

    entry: int
    when: float


class Cancel(NamedTuple):
    entry: int


class Watch(NamedTuple):
    """Handle `entry` became the watcher of (fd, direction)."""

    entry: int
    fd: int
    direction: str


class Unwatch(NamedTuple):
    fd: int
    direction: str


class Poll(NamedTuple):
    """What a poll reported: (fd, direction) pairs."""

    ready: tuple[tuple[int, str], ...]


class Drain(NamedTuple):
    """A drain began at virtual time `now` with `queue` in the run queue:
    handle ids, native tasks as -1 - tid, None for what is not traced."""

    now: float
    queue: tuple[int | None, ...]


class Run(NamedTuple):
    """The drain ran handle `entry` (or stepped native task -1 - entry)."""

    entry: int


class Aborted(NamedTuple):
    """A BaseException left the drain; what it had not run stays queued."""


Event = Soon | At | Cancel | Watch | Unwatch | Poll | Drain | Run | Aborted
