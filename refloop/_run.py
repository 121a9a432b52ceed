"""`refloop.run()`: the whole life of one loop, from a coroutine to its
result, for programs that do not manage a Loop themselves."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from ._errors import LoopError
from ._loop import DEFAULT_BUDGET, Loop
from ._runtime import running_loop_or_none
from ._shutdown import DEFAULT_GRACE, check_grace

__all__ = ["run"]

T = TypeVar("T")


def run(
    coro: Coroutine[Any, Any, T],
    *,
    budget: int = DEFAULT_BUDGET,
    grace: float = DEFAULT_GRACE,
) -> T:
    """Run `coro` on a new loop and return its result or raise its exception.
    Tasks still running then are cancelled and given `grace` seconds to clean
    up (spec: loop.shutdown); the loop is closed afterwards."""
    if running_loop_or_none() is not None:
        coro.close()
        # spec: loop.no-nesting
        raise LoopError("refloop.run() cannot be called from inside a running loop")
    grace = check_grace(grace, coro)
    loop = Loop(budget=budget)
    try:
        return loop.run(coro, grace=grace)
    except BaseException as err:
        if not isinstance(err, Exception):
            # spec: loop.shutdown.passed-on
            loop._passing = err
        raise
    finally:
        try:
            if loop.tasks() and not loop._interrupted:  # Ctrl-C wound down
                # spec: loop.shutdown
                loop.shutdown(grace)
        finally:
            loop._passing = None
            loop.close()
