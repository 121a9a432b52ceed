"""The layers of the design, enforced by import-linter's contracts in
pyproject.toml (`lint-imports` in .ci/run): the real tree keeps them, and a
copy of the package with one deliberately broken import does not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS = {c["id"]: c for c in CONFIG["tool"]["importlinter"]["contracts"]}


def lint(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package under `root` (found first on the path)."""
    script = (
        "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"
    )
    args = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run(
        [sys.executable, "-c", script, "--no-cache", "--no-logo", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break."""
    shutil.copytree(
        ROOT / "refloop", tmp_path / "refloop", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_the_real_tree_keeps_every_contract() -> None:
    found = lint(ROOT)
    assert found.returncode == 0, found.stdout + found.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in found.stdout


def test_the_copy_is_what_is_linted(copy: Path) -> None:
    """The broken copies below are read, not the installed tree: a copy
    that breaks nothing keeps every contract, and one that does not parse
    is refused."""
    assert lint(copy).returncode == 0
    _append(copy / "refloop" / "model" / "state.py", "def broken(:")
    assert lint(copy).returncode != 0


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # The model imports nothing from the rest of refloop.
        ("model/state.py", "from .._loop import Loop", "layers"),
        ("model/programs.py", "from ..check import System", "layers"),
        # The core loop never imports the model or the tooling.
        ("_loop.py", "from .model import State", "core-alone"),
        ("_ops.py", "from .testing import Harness", "core-alone"),
        ("_timers.py", "from . import fuzz", "core-alone"),
        ("_errors.py", "from .model.state import State", "core-alone"),
        # The public API is the core's.
        ("__init__.py", "from .model import step as step", "api-core"),
        # Tooling sits above the core, and the checker's wings in order.
        ("_task.py", "from .check import check", "layers"),
        ("check/systems/system.py", "from ..report import trace", "check-wings"),
        # No runtime import cycle in the core.
        ("_errors.py", "from . import _loop", "core-acyclic"),
    ],
)
def test_a_broken_import_breaks_its_contract(
    copy: Path, module: str, line: str, contract: str
) -> None:
    _append(copy / "refloop" / module, line)
    found = lint(copy, contract)
    assert found.returncode != 0, found.stdout
    assert f"{CONTRACTS[contract]['name']} BROKEN" in " ".join(found.stdout.split())


def test_a_type_only_cycle_is_allowed(copy: Path) -> None:
    """The core's parts may name each other's types (issue #10)."""
    _append(
        copy / "refloop" / "_errors.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import _loop",
    )
    assert lint(copy, "core-acyclic").returncode == 0


def test_core_contracts_name_the_same_modules() -> None:
    """`core-alone` lists the core layer's modules, and every module of
    refloop is in some layer (`exhaustive`), so a new core module must be
    placed in both."""
    core_layer = CONTRACTS["layers"]["layers"][-2]
    core = {f"refloop.{m.strip()}" for m in core_layer.split(":")}
    assert set(CONTRACTS["core-alone"]["source_modules"]) == core
    assert CONTRACTS["layers"]["exhaustive"] is True
    assert CONTRACTS["layers"]["layers"][-1] == "model"


def test_a_new_module_must_be_placed(copy: Path) -> None:
    (copy / "refloop" / "_new.py").write_text('"""A new module."""\n')
    found = lint(copy, "layers")
    assert found.returncode != 0
    assert "refloop._new" in found.stdout
