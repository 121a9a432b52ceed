"""The run as a picture: a self-contained SVG timeline of the run's tasks.

An asyncio run is traced through asyncio's public task factory: each task's
coroutine is wrapped in a transparent object that records, at every step,
the virtual time, what the task then waits on (the innermost awaited
coroutine's name), and whether the step was a cancellation or ended the
task; a native run's steps come from its loop's trace callback
(refloop/explore/_native.py). Rows are tasks, columns are steps in the order
they ran (virtual time labelled above the columns where it changes).
`layout` makes the picture's shapes once; `svg` writes them as a
self-contained SVG document, refloop/explore/_png.py as a PNG image.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

__all__ = ["Picture", "Rect", "Step", "Text", "Tracer", "layout", "svg"]


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


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int
    fill: str
    tip: str = ""


@dataclass(frozen=True)
class Text:
    x: int
    y: int  # the baseline
    text: str
    size: int = 11
    fill: str = "#000"


@dataclass(frozen=True)
class Picture:
    """The timeline as shapes: one layout, drawn as SVG or as PNG."""

    width: int
    height: int
    shapes: tuple[Rect | Text, ...]


def layout(steps: list[Step], title: str = "") -> Picture:
    """Rows are tasks, columns steps in the order they ran: a step is a
    block (red if it failed, marked C if a cancellation), the wait since the
    task's previous step a bar (blue while sleeping), virtual time above."""
    names: list[str] = []
    for s in steps:
        if s.task not in names:
            names.append(s.task)
    shapes: list[Rect | Text] = [Text(4, 14, title)]
    for row, name in enumerate(names):
        shapes.append(Text(4, _TOP + row * _ROW + 14, name[:20]))
    last: dict[str, tuple[int, str]] = {}
    shown_time: float | None = None
    for col, s in enumerate(steps):
        x = _LEFT + col * _COL
        if s.time != shown_time:
            shown_time = s.time
            shapes.append(Text(x, 28, f"{s.time:g}", size=9))
        y = _TOP + names.index(s.task) * _ROW
        if s.task in last:  # the wait since the task's previous step
            start, label = last[s.task]
            colour = "#cde" if label.startswith("wait sleep") else "#eec"
            shapes.append(Rect(start + _COL, y + 6, x - start - _COL, 8, colour, label))
        fill = "#c33" if s.then.startswith("failed") else "#36c"
        tip = f"{s.task} at {s.time:g}: {s.then}"
        shapes.append(Rect(x, y + 2, _COL - 2, 16, fill, tip))
        if s.cancel:
            shapes.append(Text(x + 2, y + 15, "C", fill="#fff"))
        if s.then in ("done", "cancelled") or s.then.startswith("failed"):
            last.pop(s.task, None)
        else:
            last[s.task] = (x, s.then)
    # Wide enough for the title too (7 pixels a character, as the PNG's).
    width = max(_LEFT + _COL * (len(steps) + 1) + 20, 8 + 7 * len(title))
    height = _TOP + _ROW * len(names) + 30
    return Picture(width, height, tuple(shapes))


def svg(steps: list[Step], title: str = "") -> str:
    """The steps as a self-contained SVG document."""
    # spec: explore.picture
    picture = layout(steps, title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{picture.width}" '
        f'height="{picture.height}" font-family="monospace" font-size="11">'
    ]
    for shape in picture.shapes:
        if isinstance(shape, Text):
            size = f' font-size="{shape.size}"' if shape.size != 11 else ""
            fill = f' fill="{shape.fill}"' if shape.fill != "#000" else ""
            out.append(
                f'<text x="{shape.x}" y="{shape.y}"{size}{fill}>'
                f"{html.escape(shape.text)}</text>"
            )
        else:
            out.append(
                f'<rect x="{shape.x}" y="{shape.y}" width="{shape.width}" '
                f'height="{shape.height}" fill="{shape.fill}">'
                f"<title>{html.escape(shape.tip)}</title></rect>"
            )
    out.append("</svg>")
    return "\n".join(out)
