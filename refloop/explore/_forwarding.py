"""A selector that hands every call to another one: the base of the
selectors that watch or bend a loop's polls without owning its
registrations (the explorer's recorder, the test harness's shim, a broken
loop's selector). Subclasses override what they change."""

from __future__ import annotations

import selectors
from collections.abc import Mapping
from typing import Any

__all__ = ["ForwardingSelector"]


class ForwardingSelector(selectors.BaseSelector):
    """Every call goes to `inner`."""

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        return self._inner.select(timeout)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()
