"""The protocol between the runner and a measuring child process.

A child is ``python -m bench.<module> PEER PARAMS_JSON``. It prints exactly one
JSON object on its last line of stdout: the figures, or ``{"skip": why}``, and
leaves through ``os._exit`` straight from inside the loop under test, so no
loop's teardown (cancelling 10,000 tasks, say) is paid for or can hang a run.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, NoReturn

Params = Mapping[str, Any]
PeerMain = Callable[[Params], None]


class Skip(Exception):
    """The peer cannot run here; the message says why, for the report."""


def need(module: str) -> ModuleType:
    """Import `module` or skip the peer, naming what failed."""
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise Skip(
            f"{module} is not importable ({type(exc).__name__}: {exc})"
        ) from None


def need_refloop(*names: str) -> ModuleType:
    """Import refloop and check that it has each public name in `names`."""
    mod = need("refloop")
    missing = [name for name in names if not hasattr(mod, name)]
    if missing:
        raise Skip(f"refloop has no {', '.join(missing)} yet")
    return mod


def emit(result: Mapping[str, Any]) -> NoReturn:
    """Print the figures as the last stdout line and leave at once."""
    sys.stdout.write(json.dumps(dict(result)) + "\n")
    sys.stdout.flush()
    os._exit(0)


def raise_nofile(wanted: int) -> int:
    """Raise the soft descriptor limit towards `wanted`; return the new limit.

    The hard limit is left alone: an unprivileged process cannot raise it, and
    on this project's machines it is 20,000, which is why idle connections
    keep their far ends in another process (see bench.holder).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def child_main(peers: Mapping[str, PeerMain], argv: Sequence[str]) -> NoReturn:
    """Run one peer's measurement, as the runner asked on the command line."""
    if len(argv) != 2 or argv[0] not in peers:
        sys.exit(f"usage: PEER PARAMS_JSON, with PEER one of {', '.join(peers)}")
    try:
        peers[argv[0]](json.loads(argv[1]))
    except Skip as exc:
        emit({"skip": str(exc)})
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stderr.write(f"{argv[0]} returned without emitting its figures\n")
    os._exit(1)
