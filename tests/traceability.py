"""Rule ids across the four places: spec/, refloop/model/, refloop/, tests/.

`audit(root)` returns every gap: an id cited but not defined, defined but
carried by neither the model nor the implementation, or carried but covered
by no test.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFINE = re.compile(r"^r\[([a-z0-9][a-z0-9.-]*)\]\s*$", re.M)
CITE = re.compile(r"#\s*spec:\s*([a-z0-9][a-z0-9.-]*)")


@dataclass
class Ids:
    defined: dict[str, str] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)
    implementation: dict[str, str] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)


def _spec_markers(tree: ast.Module) -> set[str]:
    """String ids passed to pytest.mark.spec(...), directly or through a
    module-level list or tuple of strings given with *NAME."""
    lists: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(
            node.value, ast.List | ast.Tuple
        ):
            strings = [
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    lists[target.id] = strings
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "spec" or not isinstance(node.func.value, ast.Attribute):
            continue
        if node.func.value.attr != "mark":
            continue
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
            elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
                found.update(lists.get(arg.value.id, []))
    return found


def collect(root: Path) -> Ids:
    ids = Ids()
    for path in sorted((root / "spec").glob("*.md")):
        for rule in DEFINE.findall(path.read_text(encoding="utf-8")):
            ids.defined.setdefault(rule, str(path.relative_to(root)))
    for path in sorted((root / "refloop").rglob("*.py")):
        where = str(path.relative_to(root))
        place = (
            ids.model if "model" in path.relative_to(root).parts else ids.implementation
        )
        for rule in CITE.findall(path.read_text(encoding="utf-8")):
            place.setdefault(rule, where)
    for path in sorted((root / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for rule in _spec_markers(tree):
            ids.tests.setdefault(rule, str(path.relative_to(root)))
    return ids


def audit(root: Path) -> list[str]:
    ids = collect(root)
    problems = []
    for place, cited in (
        ("the model", ids.model),
        ("the implementation", ids.implementation),
        ("the tests", ids.tests),
    ):
        for rule, where in sorted(cited.items()):
            if rule not in ids.defined:
                problems.append(
                    f"{rule}: cited in {place} ({where}) but not defined in spec/"
                )
    for rule, where in sorted(ids.defined.items()):
        carried = rule in ids.model or rule in ids.implementation
        if not carried:
            problems.append(
                f"{rule}: defined in {where} but carried by neither the model nor the "
                "implementation"
            )
        elif rule not in ids.tests:
            problems.append(
                f"{rule}: defined in {where} and carried, but no test covers it"
            )
    return problems
