"""Which loop a test is written for: asyncio's or refloop's own.

Rules this module keeps (spec: explore.kind):

1. `kind="asyncio"` or `kind="native"` is taken as given.
2. `kind="auto"` reads the test's code, never runs it: the global names its
   function uses (and those of the functions it calls in its own module and
   holds in closures, up to a few levels) vote. A name bound to the asyncio
   package or one of its objects votes asyncio; a name bound to refloop or
   one of its core objects (not refloop.aio, refloop.explore or
   refloop.testing) votes native. Only native votes: native; only asyncio
   votes, or none: asyncio; both: an error asking for `kind=`.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Any

__all__ = ["KINDS", "detect"]

KINDS = ("auto", "asyncio", "native")
_TOOLING = ("refloop.aio", "refloop.explore", "refloop.testing")


def detect(test: Callable[[], Any], kind: str = "auto") -> str:
    # spec: explore.kind
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    if kind != "auto":
        return kind
    votes: set[str] = set()
    _walk(test, votes, set(), 4)
    if votes == {"native"}:
        return "native"
    if "native" in votes:
        name = getattr(test, "__qualname__", repr(test))
        raise ValueError(
            f"{name} uses both asyncio and refloop's own API; say which loop "
            'runs it: explore(test, kind="asyncio") or kind="native"'
        )
    return "asyncio"


def _vote(value: Any) -> str | None:
    if isinstance(value, types.ModuleType):
        module = value.__name__
    else:
        module = getattr(value, "__module__", None) or ""
        if not isinstance(module, str):
            return None
    if module == "asyncio" or module.startswith("asyncio."):
        return "asyncio"
    core = module == "refloop" or module.startswith("refloop.")
    if core and not module.startswith(_TOOLING):
        return "native"
    return None


def _walk(fn: Any, votes: set[str], seen: set[int], depth: int) -> None:
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn) if callable(fn) else fn
    if not isinstance(fn, types.FunctionType) or id(fn) in seen or depth < 0:
        return
    seen.add(id(fn))
    names: set[str] = set()
    _names(fn.__code__, names)
    module = fn.__module__
    for name in names:
        if name not in fn.__globals__:
            continue
        value = fn.__globals__[name]
        vote = _vote(value)
        if vote is not None:
            votes.add(vote)
        elif isinstance(value, types.FunctionType) and value.__module__ == module:
            _walk(value, votes, seen, depth - 1)
        elif isinstance(value, types.ModuleType):
            # `mod.helper()`: the module's functions the code names.
            for attr in names:
                member = getattr(value, attr, None)
                if isinstance(member, types.FunctionType):
                    _walk(member, votes, seen, depth - 1)
        elif isinstance(value, type) and value.__module__ == module:
            for member in vars(value).values():
                _walk(member, votes, seen, depth - 1)
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        vote = _vote(value)
        if vote is not None:
            votes.add(vote)
        else:
            _walk(value, votes, seen, depth - 1)


def _names(code: types.CodeType, out: set[str]) -> None:
    out.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _names(const, out)
