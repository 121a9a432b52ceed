"""Which spec rules an example exercised, read off the model as it runs.

The model cites each rule one line before the code that carries it (STYLE.md:
"spec and code refer to each other by rule id"). A rule counts as exercised
by an example when the statement after its citation ran in that example, on
the model's side. That is the definition the campaign reports.

How: a line tracer, switched on only while a function that refloop.model
exports is running. `install()` wraps those functions in the package's
namespace (in the worker process only), and the tracer stops listening to a
function once every rule it carries has been seen in the current example.
Measured on this machine against LoopMachine: tracing every call costs 2.5x
to 3x; this costs about 15%. `--no-spec-coverage` turns it off.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType, FunctionType
from typing import Any

__all__ = ["SpecProbe", "citations"]

# The same pattern as tests/traceability.py, on comment lines only.
CITE = re.compile(r"^\s*#\s*spec:\s*([a-z0-9][a-z0-9.-]*)")
MODEL = "refloop.model"

Tracer = Callable[[FrameType, str, Any], "Tracer | None"]


def _carrying_lines(stmt: ast.stmt) -> range:
    """The lines whose execution means `stmt` ran: a simple statement's own
    lines, a compound statement's header, the first statement of a
    definition's body (after its docstring)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        first, *rest = stmt.body
        docstring = isinstance(first, ast.Expr) and isinstance(
            first.value, ast.Constant
        )
        return _carrying_lines(rest[0] if docstring and rest else first)
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body:
        return range(stmt.lineno, max(stmt.lineno + 1, body[0].lineno))
    return range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)


def citations(path: Path) -> dict[int, frozenset[str]]:
    """Line -> the rule ids carried by the statement on that line."""
    source = path.read_text(encoding="utf-8")
    statements = sorted(
        (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt)),
        key=lambda n: n.lineno,
    )
    found: dict[int, frozenset[str]] = {}
    for number, text in enumerate(source.splitlines(), start=1):
        cited = CITE.match(text)
        after = next((s for s in statements if s.lineno > number), None)
        if cited is None or after is None:
            continue
        for line in _carrying_lines(after):
            found[line] = found.get(line, frozenset()) | {cited.group(1)}
    return found


class SpecProbe:
    def __init__(self, package: str = MODEL) -> None:
        module = importlib.import_module(package)
        assert module.__file__ is not None
        self.package = module
        self._lines = {
            str(path): citations(path)
            for path in sorted(Path(module.__file__).parent.glob("*.py"))
        }
        self.ids = frozenset().union(
            *(ids for lines in self._lines.values() for ids in lines.values())
        )
        self._carried: dict[CodeType, frozenset[str]] = {}
        # Invariant: the rule ids seen since the last `take()`.
        self._hit: set[str] = set()

    def install(self) -> SpecProbe:
        """Trace the model whenever one of the package's functions runs."""
        for name, value in list(vars(self.package).items()):
            if isinstance(value, FunctionType) and value.__module__.startswith(
                self.package.__name__
            ):
                setattr(self.package, name, self._probed(value))
        return self

    def take(self) -> set[str]:
        """The rule ids exercised since the last call."""
        hit, self._hit = self._hit, set()
        return hit

    def _probed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def probed(*args: Any, **kwargs: Any) -> Any:
            # Inside the model already, or under a debugger or coverage:
            # leave the tracer as it is.
            if sys.gettrace() is not None:
                return function(*args, **kwargs)
            sys.settrace(self._on_call)
            try:
                return function(*args, **kwargs)
            finally:
                sys.settrace(None)

        return probed

    def _carried_by(self, code: CodeType) -> frozenset[str]:
        carried = self._carried.get(code)
        if carried is None:
            lines = self._lines.get(code.co_filename, {})
            carried = frozenset().union(
                *(lines.get(line, ()) for _, _, line in code.co_lines() if line)
            )
            self._carried[code] = carried
        return carried

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Tracer | None:
        carried = self._carried_by(frame.f_code)
        if not carried or carried <= self._hit:
            return None
        return self._on_line

    def _on_line(self, frame: FrameType, event: str, arg: Any) -> Tracer | None:
        if event == "line":
            ids = self._lines[frame.f_code.co_filename].get(frame.f_lineno)
            if ids:
                self._hit |= ids
                if self._carried_by(frame.f_code) <= self._hit:
                    frame.f_trace_lines = False
        return self._on_line
