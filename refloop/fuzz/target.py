"""What a campaign fuzzes: a Hypothesis state machine, named so that a fresh
process can import it again.

Workers are separate processes started with `spawn`, so a target travels as
text, `module:attribute`, and each process loads it itself. The attribute may
be a RuleBasedStateMachine subclass (run as it is), a refloop.Loop subclass
(run through `refloop.testing.machine_for`, against the model), or an async
test function, named `path.py::test` or `module:test` (its schedules
explored, explore_target.py).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from hypothesis.stateful import RuleBasedStateMachine

    from ..testing.protocol import LoopFactory

# Nothing here imports Hypothesis until a target is loaded, so that the
# `refloop` command line starts without it.

__all__ = ["DEFAULT_TARGET", "Target", "TargetError"]

DEFAULT_TARGET = "refloop.testing.machine:LoopMachine"
BROKEN = "refloop.testing.broken"


class TargetError(ValueError):
    """A target that cannot be found or is not something we can fuzz."""


@dataclass(frozen=True)
class Target:
    # `module:attribute`, importable in any process of the campaign.
    spec: str
    # How the user named it on the command line, for the commands we print.
    argv: tuple[str, ...] = ()

    @property
    def explores(self) -> bool:
        """An async test explored (path.py::test), not a state machine."""
        return "::" in self.spec

    @classmethod
    def parse(cls, target: str | None = None, loop: str | None = None) -> Target:
        """The target from the command line's TARGET and --loop (at most one):
        `module:Machine`, or a loop named `module:Loop`, `Loop` (the real one)
        or a broken loop's name from refloop.testing.broken."""
        if target is not None and loop is not None:
            raise TargetError("give a TARGET or --loop, not both")
        if loop is not None:
            if ":" in loop:
                spec = loop
            elif loop == "Loop":
                spec = "refloop:Loop"
            elif loop in _broken_names():
                spec = f"{BROKEN}:{loop}"
            else:
                names = ", ".join(["Loop", *_broken_names()])
                raise TargetError(
                    f"no loop named {loop!r}: use one of {names}, or module:LoopClass"
                )
            return cls(spec, ("--loop", loop))
        if target is None:
            return cls(DEFAULT_TARGET, ())
        if "::" in target:
            # An exploration target, path.py::test (explore_target.py).
            path, _, name = target.partition("::")
            return cls(f"{Path(path).resolve()}::{name}", (target,))
        if ":" not in target:
            raise TargetError(f"name the target as module:attribute, not {target!r}")
        return cls(target, (target,))

    def load(self) -> type[RuleBasedStateMachine]:
        """Import the target and make it a state machine class."""
        from hypothesis.stateful import RuleBasedStateMachine

        from ..testing import machine_for

        if self.explores:
            from .explore_target import machine_for_test

            return machine_for_test(self.spec)
        module_name, _, attribute = self.spec.partition(":")
        try:
            found: object = importlib.import_module(module_name)
        except ImportError as err:
            raise TargetError(f"cannot import {module_name!r}: {err}") from err
        for part in attribute.split("."):
            try:
                found = getattr(found, part)
            except AttributeError:
                raise TargetError(f"{module_name!r} has no {attribute!r}") from None
        if isinstance(found, type) and issubclass(found, RuleBasedStateMachine):
            return found
        if isinstance(found, type) and _is_loop(found):
            return machine_for(found)
        if inspect.iscoroutinefunction(inspect.unwrap(found)):  # type: ignore[arg-type]
            from .explore_target import machine_for_test

            return machine_for_test(self.spec)
        raise TargetError(
            f"{self.spec} is {found!r}: expected a RuleBasedStateMachine subclass, "
            "a loop class offering refloop.testing.LoopUnderTest, or an async "
            "test function"
        )


def _is_loop(cls: type) -> TypeGuard[LoopFactory]:
    """A class with LoopUnderTest's methods (a Loop subclass, or another)."""
    needs = ("spawn", "run_once", "call_soon_threadsafe", "snapshot", "close")
    return all(callable(getattr(cls, name, None)) for name in needs)


def _broken_names() -> list[str]:
    from ..testing.broken import BROKEN_LOOPS

    return sorted(BROKEN_LOOPS)
