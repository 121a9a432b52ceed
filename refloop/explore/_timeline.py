"""The run as a picture: a self-contained SVG timeline of asyncio tasks.

Tracing uses asyncio's public task factory: each task's coroutine is wrapped
in a transparent object that records, at every step, the virtual time, what
the task then waits on (the innermost awaited coroutine's name), and whether
the step was a cancellation or ended the task. Rows are tasks, columns are
steps in the order they ran (virtual time labelled above the columns where
it changes).
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

__all__ = ["Step", "Tracer", "svg"]


@dataclass
class Step:
    task: str
    time: float
    then: str  # "wait <name>", "done", "failed: ...", "cancelled"
    cancel: bool


class Tracer:
    """Collects the steps of every task made by the loop it is installed on."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.steps: list[Step] = []

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        def factory(
            loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
        ) -> asyncio.Task[Any]:
            return asyncio.Task(_Traced(coro, self), loop=loop, **kwargs)

        loop.set_task_factory(factory)


class _Traced(Coroutine[Any, Any, Any]):
    """A coroutine that records each step of the one it wraps."""

    def __init__(self, inner: Any, tracer: Tracer) -> None:
        self.inner = inner
        self.tracer = tracer

    def _record(self, then: str, cancel: bool) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else "?"
        self.tracer.steps.append(Step(name, self.tracer.clock(), then, cancel))

    def _go(self, act: Callable[[], Any], cancel: bool) -> Any:
        try:
            out = act()
        except StopIteration:
            self._record("done", cancel)
            raise
        except asyncio.CancelledError:
            self._record("cancelled", True)
            raise
        except BaseException as exc:
            self._record(f"failed: {type(exc).__name__}", cancel)
            raise
        self._record(f"wait {_innermost(self.inner)}", cancel)
        return out

    def send(self, value: Any) -> Any:
        return self._go(lambda: self.inner.send(value), False)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        exc = typ if val is None else val
        cancel = (
            isinstance(exc, asyncio.CancelledError) or exc is asyncio.CancelledError
        )
        return self._go(lambda: self.inner.throw(exc), cancel)

    def close(self) -> None:
        self.inner.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self.inner.__await__()  # type: ignore[no-any-return]

    @property
    def cr_frame(self) -> Any:
        return getattr(self.inner, "cr_frame", None)

    @property
    def cr_await(self) -> Any:
        return getattr(self.inner, "cr_await", None)


def _innermost(coro: Any) -> str:
    name = "?"
    while coro is not None and hasattr(coro, "cr_code"):
        name = coro.cr_code.co_name
        coro = coro.cr_await
    return name


_ROW, _COL, _LEFT, _TOP = 22, 14, 150, 34


def svg(steps: list[Step], title: str = "") -> str:
    """The steps as a self-contained SVG document."""
    names: list[str] = []
    for s in steps:
        if s.task not in names:
            names.append(s.task)
    width = _LEFT + _COL * (len(steps) + 1) + 20
    height = _TOP + _ROW * len(names) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="monospace" font-size="11">',
        f'<text x="4" y="14">{html.escape(title)}</text>',
    ]
    for row, name in enumerate(names):
        y = _TOP + row * _ROW
        out.append(f'<text x="4" y="{y + 14}">{html.escape(name[:20])}</text>')
    last: dict[str, tuple[int, str]] = {}
    shown_time: float | None = None
    for col, s in enumerate(steps):
        x = _LEFT + col * _COL
        if s.time != shown_time:
            shown_time = s.time
            out.append(f'<text x="{x}" y="28" font-size="9">{s.time:g}</text>')
        y = _TOP + names.index(s.task) * _ROW
        if s.task in last:  # the wait since the task's previous step
            start, label = last[s.task]
            colour = "#cde" if label.startswith("wait sleep") else "#eec"
            out.append(
                f'<rect x="{start + _COL}" y="{y + 6}" width="{x - start - _COL}" '
                f'height="8" fill="{colour}"><title>{html.escape(label)}</title></rect>'
            )
        fill = "#c33" if s.then.startswith("failed") else "#36c"
        out.append(
            f'<rect x="{x}" y="{y + 2}" width="{_COL - 2}" height="16" fill="{fill}">'
            f"<title>{html.escape(s.task)} at {s.time:g}: {html.escape(s.then)}"
            "</title></rect>"
        )
        if s.cancel:
            out.append(f'<text x="{x + 2}" y="{y + 15}" fill="#fff">C</text>')
        if s.then in ("done", "cancelled") or s.then.startswith("failed"):
            last.pop(s.task, None)
        else:
            last[s.task] = (x, s.then)
    out.append("</svg>")
    return "\n".join(out)
