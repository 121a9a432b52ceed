"""Schedule exploration for async tests, asyncio ones on refloop.aio and
native ones on refloop.Loop (spec/14-explore.md).

    from refloop.explore import explore
    result = explore(test_transfer, runs=200, strategy="delay")
    result.raise_for_failure()        # prints the schedule and its replay

    @refloop.testing.explore(runs=200)  # the same, as a decorator
    async def test_transfer(): ...

The explorer's only inputs are the loop's nondeterminism: what each poll
reports (a ready event may be held back a few polls), what the virtual
clock reads (it jumps to the next deadline when nothing is runnable, and a
timer may fire up to `slack` seconds late), when a thread's result is
posted back (the virtual executor runs thread work on the loop's side), and
how the simulated network moves bytes (partial sends and reads, delays,
resets if asked). Every decision is named by the spec rule that grants it;
the non-default ones are the replay string.
"""

from ._api import STRATEGIES as STRATEGIES
from ._api import ExploreFailure as ExploreFailure
from ._api import Result as Result
from ._api import delay_bounded as delay_bounded
from ._api import explore as explore
from ._api import explorer as explorer
from ._decide import Diverged as Diverged
from ._run import Outcome as Outcome
from ._run import Settings as Settings
from ._run import run_one as run_one
from ._selector import Deadlock as Deadlock
from ._selector import ExploreSelector as ExploreSelector
from ._selector import Livelock as Livelock
from ._selector import OutsideWorld as OutsideWorld

__all__ = [
    "STRATEGIES",
    "Deadlock",
    "Diverged",
    "ExploreFailure",
    "ExploreSelector",
    "Livelock",
    "Outcome",
    "OutsideWorld",
    "Result",
    "Settings",
    "delay_bounded",
    "explore",
    "explorer",
    "run_one",
]
