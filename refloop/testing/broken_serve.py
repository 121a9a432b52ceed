"""Deliberately broken servers: each breaks one rule of serve.backoff or
op.accept.aborted, and the serve machine (refloop/testing/serve_machine.py)
must catch every one (tests/test_broken_serve.py).

Each is a subclass of the real server that changes one of its policy's
class attributes, so what is tested is the machine's power to notice that
one change.
"""

from __future__ import annotations

import errno
import math

from .._serve import _Server

__all__ = ["BROKEN_SERVERS"]


class SpinningServer(_Server):
    """Retries an accept that ran out of descriptors at once: the naive
    retry, 100% CPU while the shortage lasts (breaks serve.backoff)."""

    first_delay = 0.0
    delay_cap = 0.0


class FatalShortageServer(_Server):
    """EMFILE and its kind end the server, resetting every queued connection
    (breaks serve.backoff; what refloop did before issue #14)."""

    shortages = frozenset()


class PatientAbortServer(_Server):
    """Backs off when a client gave up before it was accepted, as for a
    shortage (breaks op.accept.aborted: nothing to wait for)."""

    shortages = _Server.shortages | {errno.ECONNABORTED, errno.EPROTO}
    aborted = frozenset()


class UncappedServer(_Server):
    """Doubles the delay without a cap: after a long shortage the server
    waits minutes to notice descriptors are free (breaks serve.backoff)."""

    delay_cap = math.inf


BROKEN_SERVERS: dict[str, type[_Server]] = {
    cls.__name__: cls
    for cls in [SpinningServer, FatalShortageServer, PatientAbortServer, UncappedServer]
}
