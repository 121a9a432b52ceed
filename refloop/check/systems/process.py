"""The environment of a closed system: processes that act on the far side
of the loop's sockets, each a source of explicit choice.

A process has a `name`, says whether it is `fair` (prop.fairness), and
offers `start()` (its first state), `moves(s, me)`, `view(s, me)` and
`facets(me)`, where `s` is the model's state and `me` its own.

Rules every process keeps:

1. A process acts only through the model's environment actions
   (`PeerSend`, `PeerRecv`, `PeerClose`, `PeerConnect`, `Advance`,
   `Cancel`, `ThreadPost`), so every schedule the checker finds replays
   with `refloop.model.step` and, on a real loop, with
   `refloop.testing.Harness`.
2. A process's own state is a small hashable value; the checker stores it
   next to the model's state. The model's state stays the model's.
3. `moves` reads only what `view` returns, so the checker can remember
   moves by it.
4. Each process says which socket facets it may still touch (`facets`): the
   macro-step reduction defers a process only while the loop's next step
   cannot observe it. A facet is ("in", sock) for what the loop receives
   (bytes, end of stream, connections), ("out", sock) for what it sent, and
   ("clock", "") for time; ("task", "t") for what task t's next suspension
   does, and ("posted", "") for the calls threads post
   (refloop.check.systems.actors). Saying too much is safe; too little is not.

Enabling conditions follow the model's preconditions: a peer cannot send to
a socket the loop has not accepted yet, nor after the loop closed it. A
scripted peer whose socket the loop closed stops where it is (it would see
a reset, which the model leaves out: env.peer-close).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from ...model import Action, State, sock

__all__ = ["Facet", "Move", "chunks", "open_stream"]

Facet = tuple[str, str]


class Move(NamedTuple):
    """One choice of a process: the model actions it performs, in order, and
    the process's state afterwards."""

    actions: tuple[Action, ...]
    after: Hashable


def chunks(available: int, split: bool) -> range:
    """How many bytes one action may move: any amount, or all at once."""
    return range(1, available + 1) if split else range(available, available + 1)


def open_stream(s: State, name: str | None) -> bool:
    found = None if name is None else sock(s, name)
    return found is not None and not found.listener and not found.closed
