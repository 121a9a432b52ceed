"""Hypothesis strategies for the asyncio-level stateful test: callbacks as
shapes (their effects, nested callbacks unlabelled), and `label_shape`, which
turns a shape into a model callback with fresh labels (depth first),
resolving Cancel/Resolve indices to the handles and futures that exist.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..model import aio as m

__all__ = ["SOCKS", "label_shape", "shapes"]

SOCKS = ("A", "B")
_socks = st.sampled_from(SOCKS)
_leaf = st.one_of(
    st.builds(lambda i: ("cancel", i), st.integers(0, 15)),
    st.builds(lambda i: ("resolve", i), st.integers(0, 3)),
    st.builds(lambda s: ("remove_reader", s), _socks),
    st.builds(lambda s: ("remove_writer", s), _socks),
    st.builds(lambda s: ("drain", s), _socks),
    st.just(("stop",)),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    nested = st.one_of(
        st.builds(lambda c: ("soon", c), children),
        st.builds(lambda t, c: ("later", t, c), st.integers(0, 2), children),
    )
    return st.lists(st.one_of(_leaf, nested), max_size=3).map(tuple)


shapes = st.recursive(st.lists(_leaf, max_size=2).map(tuple), _extend, max_leaves=4)


_NO_NESTED_TIMERS = frozenset({"distinct-deadlines", "no-timers"})


def label_shape(
    shape: tuple[Any, ...],
    label: int,
    handles: list[int],
    futures: int,
    restrict: frozenset[str],
) -> tuple[m.Callback, int]:
    """The callback for `shape`, labelled from `label`, and the next free
    label. `handles` are the labels that can be cancelled, sorted; `futures`
    how many futures exist; `restrict` the machine's restrictions."""
    mine, label = label, label + 1
    effects: list[m.Effect] = []
    for e in shape:
        kind = e[0]
        if kind == "soon" or (kind == "later" and restrict & _NO_NESTED_TIMERS):
            cb, label = label_shape(e[-1], label, handles, futures, restrict)
            effects.append(m.Soon(cb))
        elif kind == "later":
            cb, label = label_shape(e[2], label, handles, futures, restrict)
            effects.append(m.Later(e[1], cb))
        elif kind == "cancel" and handles:
            effects.append(m.Cancel(handles[e[1] % len(handles)]))
        elif kind == "resolve" and futures:
            effects.append(m.Resolve(e[1] % futures))
        elif kind == "remove_reader":
            effects.append(m.RemoveReader(e[1]))
        elif kind == "remove_writer":
            effects.append(m.RemoveWriter(e[1]))
        elif kind == "drain" and "no-drain" not in restrict:
            effects.append(m.Drain(e[1]))
        elif kind == "stop":
            effects.append(m.Stop())
    return m.Callback(mine, tuple(effects)), label
