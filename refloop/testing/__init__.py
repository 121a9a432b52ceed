"""Tooling that binds refloop's model to a real loop, for Hypothesis.

Use `LoopMachine` (or `machine_for(YourLoop)`, for any loop that offers
`LoopUnderTest`) as a Hypothesis stateful test;
`Harness` runs model programs on a real loop over real sockets; `broken`
holds deliberately broken loops that the stateful test must catch.
"""

from ..explore import explorer as explore
from .harness import Harness as Harness
from .harness import UnknownSocket as UnknownSocket
from .harness import UnknownTask as UnknownTask
from .machine import LoopMachine as LoopMachine
from .machine import Mismatch as Mismatch
from .machine import compare as compare
from .machine import machine_for as machine_for
from .native_machine import SyncLoopMachine as SyncLoopMachine
from .protocol import LoopFactory as LoopFactory
from .protocol import LoopUnderTest as LoopUnderTest
from .strategies import ops as ops
from .strategies import programs as programs

__all__ = [
    "Harness",
    "LoopFactory",
    "LoopMachine",
    "LoopUnderTest",
    "Mismatch",
    "SyncLoopMachine",
    "UnknownSocket",
    "UnknownTask",
    "compare",
    "explore",
    "machine_for",
    "ops",
    "programs",
]
