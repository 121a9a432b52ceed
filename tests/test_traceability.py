"""The four places agree on rule ids (STYLE: spec and code refer to each
other by rule id)."""

from __future__ import annotations

from pathlib import Path

import pytest
from traceability import audit, collect

ROOT = Path(__file__).resolve().parent.parent


def test_every_rule_is_defined_carried_and_tested() -> None:
    problems = audit(ROOT)
    assert not problems, "\n".join(problems)


def test_the_spec_defines_rules() -> None:
    ids = collect(ROOT)
    assert len(ids.defined) >= 40
    assert ids.model and ids.implementation and ids.tests


def _tree(tmp_path: Path, spec: str, model: str, impl: str, tests: str) -> Path:
    for folder in ("spec", "refloop/model", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "spec" / "rules.md").write_text(spec)
    (tmp_path / "refloop" / "model" / "m.py").write_text(model)
    (tmp_path / "refloop" / "impl.py").write_text(impl)
    (tmp_path / "tests" / "test_x.py").write_text(tests)
    return tmp_path


GOOD_SPEC = "r[a.one]\nA rule.\n\nr[a.two]\nAnother.\n"
GOOD_TESTS = (
    "import pytest\nIDS = ['a.two']\n"
    "@pytest.mark.spec('a.one')\ndef test_a(): pass\n"
    "@pytest.mark.spec(*IDS)\ndef test_b(): pass\n"
)


@pytest.mark.parametrize(
    ("spec", "model", "impl", "tests", "complaint"),
    [
        (
            GOOD_SPEC,
            "# spec: a.one\n",
            "# spec: a.three\n",
            GOOD_TESTS,
            "a.three: cited",
        ),
        (
            GOOD_SPEC,
            "# spec: a.one\n",
            "",
            GOOD_TESTS,
            "a.two: defined in spec/rules.md but carried",
        ),
        (
            GOOD_SPEC,
            "# spec: a.one\n",
            "# spec: a.two\n",
            "import pytest\n@pytest.mark.spec('a.one')\ndef test_a(): pass\n",
            "a.two: defined in spec/rules.md and carried, but no test",
        ),
    ],
)
def test_the_audit_bites(
    tmp_path: Path, spec: str, model: str, impl: str, tests: str, complaint: str
) -> None:
    problems = audit(_tree(tmp_path, spec, model, impl, tests))
    assert any(p.startswith(complaint) for p in problems), problems


def test_a_consistent_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, GOOD_SPEC, "# spec: a.one\n", "# spec: a.two\n", GOOD_TESTS)
    assert audit(root) == []
