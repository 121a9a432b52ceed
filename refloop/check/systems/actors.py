"""Environment processes that act on the loop's tasks rather than its
sockets: code outside a task that cancels it (`Canceller`), and threads
that post continuations back to the loop (`Poster`). They keep the rules
of refloop.check.systems.process; their facets are:

- ("task", "t"): what task t's next suspension point does. A cancel of t
  changes it (cancel.runnable), or, if t waits, removes t's registration and
  appends t to the run queue (cancel.waiting).
- ("posted", ""): the queue of posted calls, and the threads' holds on
  continuations (thread.post). A cancel may withdraw a hold or a posted
  call, so a Canceller says ("posted", "") too.
- ("clock", ""): a cancel of a sleeping task removes its timer and queues
  it, which changes whether an idle clock may tick (`Clock`); so a
  Canceller says it too. A post does not (the idle clock reads neither the
  thread holds nor the posted queue).

How the loop's steps depend on these facets is argued in
refloop.check.search.reduce.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ...model import DONE, FAILED, THREAD, Cancel, State, ThreadPost
from .process import Facet, Move

__all__ = ["Canceller", "Poster"]


@dataclass(frozen=True)
class Canceller:
    """Code outside task `tid` that may call `task.cancel()` at any point
    while the task has not finished, at most `limit` times in all (a bound:
    the real method may be called any number of times; a second request
    before the first is delivered merges with it, cancel.merge). Not
    obliged to act unless `fair`. Its state is how many times it has
    cancelled."""

    tid: int
    limit: int = 1
    fair: bool = False

    @property
    def name(self) -> str:
        return f"cancel t{self.tid}"

    @property
    def tids(self) -> tuple[int, ...]:
        """The tasks it names (symmetric tasks may not be named)."""
        return (self.tid,)

    def start(self) -> int:
        return 0

    def view(self, s: State, me: Hashable) -> Hashable:
        return (me, s.tasks[self.tid].state in (DONE, FAILED))

    def moves(self, s: State, me: Hashable) -> list[Move]:
        assert isinstance(me, int)
        # spec: cancel.finished (a cancel of a finished task does nothing)
        if me >= self.limit or s.tasks[self.tid].state in (DONE, FAILED):
            return []
        return [Move((Cancel(self.tid),), me + 1)]

    def facets(self, me: Hashable) -> frozenset[Facet]:
        assert isinstance(me, int)
        if me >= self.limit:
            return frozenset()
        return frozenset({("task", str(self.tid)), ("posted", ""), ("clock", "")})

    def done(self, me: Hashable) -> bool:
        return True


@dataclass(frozen=True)
class Poster:
    """Threads holding the continuations of tasks `tids` (handed over by
    `AwaitThread`): each, once it holds one, may post it back with
    `call_soon_threadsafe` (the model's `thread_post`), in any order, at most
    `limit` posts in all. Fair by default: a thread whose work ends does
    post. Its state is the tasks it posted, in the order it posted them, so
    that a system can compare it with the order they ran in."""

    tids: tuple[int, ...]
    limit: int = 2
    fair: bool = True

    @property
    def name(self) -> str:
        return "thread"

    def start(self) -> tuple[int, ...]:
        return ()

    def view(self, s: State, me: Hashable) -> Hashable:
        return (me, self._held(s))

    def _held(self, s: State) -> tuple[int, ...]:
        """The tasks of `tids` whose continuation a thread holds."""
        return tuple(
            w.tid for w in s.waiters if w.kind == THREAD and w.tid in self.tids
        )

    def moves(self, s: State, me: Hashable) -> list[Move]:
        assert isinstance(me, tuple)
        if len(me) >= self.limit:
            return []
        # spec: env.thread-post
        return [Move((ThreadPost(tid),), (*me, tid)) for tid in self._held(s)]

    def facets(self, me: Hashable) -> frozenset[Facet]:
        assert isinstance(me, tuple)
        return frozenset({("posted", "")}) if len(me) < self.limit else frozenset()

    def done(self, me: Hashable) -> bool:
        return True
