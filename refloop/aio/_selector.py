"""The aio core's default selector: `selectors.EpollSelector` whose `select`
is one Python frame (the standard one calls a helper per ready descriptor
and `max()` per poll; protocol echo polls once per message).

Rules it keeps: what `select` returns is exactly what the standard
EpollSelector returns for the same readiness (tests/test_aio_selector.py
compares the two on the same descriptors): (key, events & key.events) per
registered descriptor the poll reported, in the poll's order; an error or
hang-up counts as both directions; the timeout is rounded up to whole
milliseconds, so the poll never returns before it (timer.poll-timeout).
"""

from __future__ import annotations

import math
import select
import selectors
from selectors import EVENT_READ, EVENT_WRITE, SelectorKey

__all__ = ["default_selector"]

_NOT_IN = ~select.EPOLLIN if hasattr(select, "EPOLLIN") else 0
_NOT_OUT = ~select.EPOLLOUT if hasattr(select, "EPOLLOUT") else 0


def default_selector() -> selectors.BaseSelector:
    """The fast epoll selector where epoll exists, else the platform's default."""
    if hasattr(selectors, "EpollSelector"):
        return _EpollSelector()
    return selectors.DefaultSelector()


class _EpollSelector(selectors.EpollSelector):
    # Private names of selectors' poll-like selectors this relies on (pinned
    # by tests/test_aio_selector.py): `_selector` (the epoll object) and
    # `_fd_to_key`.
    _selector: select.epoll
    _fd_to_key: dict[int, SelectorKey]

    def select(self, timeout: float | None = None) -> list[tuple[SelectorKey, int]]:
        if timeout is None:
            wait = -1.0
        elif timeout <= 0:
            wait = 0.0
        else:
            # epoll counts whole milliseconds: round up, never return early.
            wait = math.ceil(timeout * 1e3) * 1e-3
        keys = self._fd_to_key
        try:
            polled = self._selector.poll(wait, len(keys) or 1)
        except InterruptedError:
            return []
        found = []
        for fd, event in polled:
            key = keys.get(fd)
            if key is not None:
                mask = (EVENT_WRITE if event & _NOT_IN else 0) | (
                    EVENT_READ if event & _NOT_OUT else 0
                )
                found.append((key, mask & key.events))
        return found
