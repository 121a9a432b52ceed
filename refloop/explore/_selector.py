"""The controlling selector: every poll of the loop is a decision point.

Rules this module keeps (spec: explore.*):

1. The selector never blocks. It asks the kernel what is ready (select(0)),
   may hold each ready event back for a bounded number of polls
   (explore.poll.hold), and moves the virtual clock instead of sleeping
   (explore.clock.autojump, explore.clock.late, explore.clock.busy).
2. Readiness order is not a decision: the loop sorts what a poll reports by
   registration (aio.watch.order), so the selector reports in registration
   order (explore.poll.order).
3. A poll that would wait forever is a deadlock, and real time passing where
   the closed world has none is reported, never slept through
   (explore.deadlock, explore.closed-world).
"""

from __future__ import annotations

import selectors
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._clock import VirtualClock
from ._decide import Decider, Point

__all__ = ["Deadlock", "ExploreSelector", "Livelock", "OutsideWorld"]


class Deadlock(Exception):
    """No task can make progress: nothing is ready, no timer is pending."""


class Livelock(Exception):
    """The run did not finish within the explorer's budget of polls."""


class OutsideWorld(Exception):
    """The test reached outside the closed world (a real thread, a socket to
    elsewhere, a blocking call) while virtual time was in charge."""


_DIRS = ((selectors.EVENT_READ, "read"), (selectors.EVENT_WRITE, "write"))


class ExploreSelector(selectors.BaseSelector):
    """A selector whose polls are decided by a `Decider`."""

    def __init__(
        self,
        decider: Decider,
        clock: VirtualClock,
        deadlines: Callable[[], list[float]],
        *,
        hold: int = 2,
        slack: float = 0.1,
        max_polls: int = 5000,
        grace: float = 0.02,
        stall: float = 2.0,
    ) -> None:
        self._inner = selectors.DefaultSelector()
        self.decider = decider
        self.clock = clock
        self.deadlines = deadlines
        self.hold = hold
        self.slack = slack
        self.max_polls = max_polls
        self.grace = grace
        self.stall = stall
        self.polls = 0
        self.cleanup = False
        self._seq = 0
        self._reg: dict[int, int] = {}  # fd -> registration number
        self._held: dict[tuple[int, int], int] = {}  # (reg, bit) -> polls left
        self._since: dict[tuple[int, int], float] = {}  # when first held
        self._threads = {t.ident for t in threading.enumerate()}
        self._last_real = time.perf_counter()

    # ---------------------------------------------------- registrations

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        key = self._inner.register(fileobj, events, data)
        self._seq += 1
        self._reg[key.fd] = self._seq
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        key = self._inner.unregister(fileobj)
        self._reg.pop(key.fd, None)
        return key

    def modify(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    # ---------------------------------------------------- the poll

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self.polls += 1
        self._check_real_time()
        if self.polls > self.max_polls:
            raise Livelock(
                f"the test had not finished after {self.max_polls} polls "
                f"(virtual time {self.clock():g} s): it runs forever or needs "
                "a larger budget (explore(max_polls=...))"
            )
        found = self._ready_now()
        if not found and timeout != 0:
            found = self._idle(timeout)
        else:
            self._move_clock(busy=True)
        return found

    def _ready_now(self) -> list[tuple[selectors.SelectorKey, int]]:
        raw = sorted(
            self._inner.select(0), key=lambda entry: self._reg.get(entry[0].fd, 0)
        )
        ready = [
            (self._reg.get(key.fd, 0), bit, name, key)
            for key, mask in raw
            for bit, name in _DIRS
            if mask & bit
        ]
        peers = [(reg, bit) for reg, bit, _, _ in ready]
        for ident in list(self._held):
            if ident not in peers:
                del self._held[ident]  # no longer ready: nothing to deliver
                self._since.pop(ident, None)
        out: dict[int, tuple[selectors.SelectorKey, int]] = {}
        for reg, bit, name, key in ready:
            ident = (reg, bit)
            left = self._held.get(ident)
            if left is None:
                left = 0
                if not self.cleanup and self.hold > 0:
                    # spec: explore.poll.hold
                    left = self.decider.choose(
                        Point(
                            "hold",
                            self.hold + 1,
                            _holds(name, key.fd, reg),
                            ident,
                            peers,
                        )
                    )
            if left > 0:
                self._held[ident] = left - 1
                self._since.setdefault(ident, self.clock())
                continue
            self._held.pop(ident, None)
            self._since.pop(ident, None)
            # spec: explore.poll.order
            previous = out.get(key.fd)
            out[key.fd] = (key, (previous[1] if previous else 0) | bit)
        return list(out.values())

    def _idle(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        """Nothing reported and the loop would wait: move time, or release
        what is held, or report a deadlock."""
        self._check_threads()
        if self._move_clock(busy=False):
            return []
        if self._held:
            # spec: explore.poll.hold
            self._held.clear()  # the environment delivers eventually
            self._since.clear()
            return self._ready_now()
        if timeout is None:
            late = self._inner.select(self.grace)
            if late:
                fds = sorted(key.fd for key, _ in late)
                # spec: explore.closed-world
                raise OutsideWorld(
                    f"descriptor(s) {fds} became ready only after real time "
                    "passed while virtual time was in charge: the test talks "
                    "to something outside the loop (a real thread, a socket "
                    "to another process or host)"
                )
            # spec: explore.deadlock
            raise Deadlock(
                f"no task can make progress at virtual time {self.clock():g} s: "
                "nothing is ready and no timer is pending"
            )
        return []

    def _move_clock(self, *, busy: bool) -> bool:
        """Decide how far the clock moves in this poll; True if it moved."""
        now = self.clock()
        pending = [d for d in self.deadlines() if d > now]
        if not pending:
            return False
        first = pending[0]
        limit = (now if busy else first) + self.slack
        if self._since and not busy:
            # spec: explore.poll.hold
            # A held event is late by at most `slack`: time may not run
            # further ahead of it.
            limit = min(self._since.values()) + self.slack
            if first > limit:
                return False
        candidates = sorted({d for d in pending if d <= limit})
        if busy:
            if not candidates or self.cleanup:
                return False
            # spec: explore.clock.busy
            pick = self.decider.choose(
                Point("busy", len(candidates) + 1, _jumps(now, candidates, 1))
            )
            if pick == 0:
                return False
            target = candidates[pick - 1]
        else:
            pick = 0
            if len(candidates) > 1 and not self.cleanup:
                # spec: explore.clock.late
                pick = self.decider.choose(
                    Point("late", len(candidates), _jumps(now, candidates, 0))
                )
            # spec: explore.clock.autojump
            target = candidates[pick]
        self.clock.advance(target - now)
        return True

    # ---------------------------------------------------- the closed world

    def _check_real_time(self) -> None:
        real = time.perf_counter()
        took, self._last_real = real - self._last_real, real
        if took > self.stall and not self.cleanup:
            # spec: explore.closed-world
            raise OutsideWorld(
                f"{took:.2f} s of real time passed between two polls while "
                "virtual time was in charge: a callback blocked (time.sleep, a "
                "blocking socket or a lock) instead of awaiting"
            )

    def _check_threads(self) -> None:
        extra = [t for t in threading.enumerate() if t.ident not in self._threads]
        if extra and not self.cleanup:
            names = ", ".join(repr(t.name) for t in extra)
            # spec: explore.closed-world
            raise OutsideWorld(
                f"real thread(s) {names} run while the loop waits in virtual "
                "time: their work takes real time the virtual clock cannot "
                "see (run_in_executor, to_thread, getaddrinfo); use "
                "refloop.explore's closed world or run the test without "
                "exploration"
            )


def _jumps(now: float, candidates: list[float], start: int) -> Callable[[int], str]:
    def label(pick: int) -> str:
        if pick == 0 and start == 1:
            return "the clock stays"
        target = candidates[pick - start]
        return f"the clock moves {target - now:g} s to {target:g}"

    return label


def _holds(name: str, fd: int, reg: int) -> Callable[[int], str]:
    def label(pick: int) -> str:
        what = f"{name} readiness of fd {fd} (registration #{reg})"
        if pick == 0:
            return f"report {what}"
        return f"hold {what} back for {pick} poll(s)"

    return label
