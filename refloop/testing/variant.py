"""A machine with one of its classes replaced (by a broken one, say): what
`machine_with` of the group and serve machines builds."""

from __future__ import annotations

from typing import Any, TypeVar, cast

__all__ = ["variant"]

M = TypeVar("M", bound=type)


def variant(machine: M, attribute: str, value: object, base: type[Any]) -> M:
    """A subclass of `machine` whose class attribute `attribute` is `value`,
    which must be a subclass of `base` (TypeError, naming the call, if not)."""
    if not (isinstance(value, type) and issubclass(value, base)):
        raise TypeError(
            f"machine_with: {attribute} needs a subclass of {base.__name__}, "
            f"got {value!r}"
        )
    made = type(
        f"{machine.__name__}With{value.__name__}", (machine,), {attribute: value}
    )
    return cast(M, made)
