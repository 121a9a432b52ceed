"""The explicit-state model checker for closed systems (`models/`).

`check(system)` explores every state a `System` can reach, breadth first,
and judges the model's invariants, the system's own properties, deadlock
and, under weak fairness, liveness; `refloop check` is its command line.

Its wings, each importing only those listed after it: `report` (what
`refloop check` prints: summaries, traces, Python replays), `checker`
(`check`: search, then judge), `judge` (the verdict: invariants, deadlock,
liveness), `search` (the breadth-first search, its tables and reductions),
`systems` (closed systems, their environment processes, loop policies).
"""

from .checker import Counterexample as Counterexample
from .checker import Result as Result
from .checker import check as check
from .search.graph import Options as Options
from .systems import broken as broken  # registers the broken policies
from .systems import broken_scopes as broken_scopes  # and the broken shield's
from .systems import broken_sync as broken_sync  # and the broken primitives'
from .systems.env import Canceller as Canceller
from .systems.env import Clock as Clock
from .systems.env import Free as Free
from .systems.env import Pair as Pair
from .systems.env import Peer as Peer
from .systems.env import Poster as Poster
from .systems.env import peer as peer
from .systems.system import NO_DEADLOCK as NO_DEADLOCK
from .systems.system import READY_WAKES as READY_WAKES
from .systems.system import RUNNABLE_RUNS as RUNNABLE_RUNS
from .systems.system import TERMINATES as TERMINATES
from .systems.system import Forever as Forever
from .systems.system import Property as Property
from .systems.system import System as System
from .systems.system import World as World
from .systems.system import load as load

__all__ = [
    "NO_DEADLOCK",
    "READY_WAKES",
    "RUNNABLE_RUNS",
    "TERMINATES",
    "Canceller",
    "Clock",
    "Counterexample",
    "Forever",
    "Free",
    "Options",
    "Pair",
    "Peer",
    "Poster",
    "Property",
    "Result",
    "System",
    "World",
    "check",
    "load",
    "peer",
]
