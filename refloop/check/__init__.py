"""The explicit-state model checker for closed systems (`models/`).

`check(system)` explores every state a `System` can reach, breadth first,
and judges the model's invariants, the system's own properties, deadlock
and, under weak fairness, liveness; `refloop check` is its command line.
"""

from . import broken as broken  # registers the broken policies
from . import broken_sync as broken_sync  # and the broken primitives'
from .checker import Counterexample as Counterexample
from .checker import Result as Result
from .checker import check as check
from .env import Canceller as Canceller
from .env import Clock as Clock
from .env import Free as Free
from .env import Pair as Pair
from .env import Peer as Peer
from .env import Poster as Poster
from .env import peer as peer
from .explore import Options as Options
from .system import NO_DEADLOCK as NO_DEADLOCK
from .system import READY_WAKES as READY_WAKES
from .system import RUNNABLE_RUNS as RUNNABLE_RUNS
from .system import TERMINATES as TERMINATES
from .system import Forever as Forever
from .system import Property as Property
from .system import System as System
from .system import World as World
from .system import load as load

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
