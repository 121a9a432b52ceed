"""What the stateful test compares: the model's state against the real
loop's, as `Harness.abstract()` gives it, on everything the loop decides."""

from __future__ import annotations

from .. import model
from ..model import State
from .harness import Harness
from .observe import view_problems
from .sync_harness import compare_sync

__all__ = ["Mismatch", "compare"]


class Mismatch(AssertionError):
    """The real loop did something the model does not allow."""


def compare(expected: State, real: Harness) -> list[str]:
    """What differs between the model state and the real loop."""
    found = real.abstract()
    problems = []
    for mine, theirs in zip(expected.tasks, found.tasks, strict=True):
        for field in ("state", "log", "error"):
            want, got = getattr(mine, field), getattr(theirs, field)
            if want != got:
                problems.append(
                    f"task {mine.tid} {field}: model {want!r}, real {got!r}"
                )
    if expected.run_queue != found.run_queue:
        problems.append(
            f"run queue: model {expected.run_queue}, real {found.run_queue}"
        )
    want_w = [w for w in expected.waiters if w.kind in (model.READ, model.WRITE)]
    got_w = [w for w in found.waiters if w.kind in (model.READ, model.WRITE)]
    if want_w != got_w:
        problems.append(f"waiters: model {want_w}, real {got_w}")
    want_t = sorted(expected.timers, key=lambda tm: tm.when)
    if want_t != list(found.timers):
        problems.append(f"timers: model {want_t}, real {list(found.timers)}")
    for field in ("idle", "posted", "called"):
        want, got = getattr(expected, field), getattr(found, field)
        if want != got:
            problems.append(f"{field}: model {want}, real {got}")
    # spec: io.close.wakes
    real_closed = {k.name: k.closed for k in found.sockets}
    for k in expected.sockets:
        if k.name in real_closed and k.closed != real_closed[k.name]:
            problems.append(
                f"socket {k.name} closed: model {k.closed}, real {real_closed[k.name]}"
            )
    # spec: thread.run.orphan
    if sorted(expected.orphans) != list(found.orphans):
        problems.append(
            f"orphaned jobs: model {expected.orphans}, real {found.orphans}"
        )
    problems += real.pool.leaks()
    if expected.reported != found.reported:
        problems.append(f"reported: model {expected.reported}, real {found.reported}")
    problems += compare_sync(expected, found)
    for broken in model.violated(found):
        problems.append(f"the real loop breaks {broken}")
    # spec: loop.close
    if expected.closed != found.closed:
        problems.append(f"closed: model {expected.closed}, real {found.closed}")
    problems += view_problems(real)
    # spec: io.interest
    problems.extend(real.selector.problems)
    real.selector.problems.clear()
    return problems
