"""`refloop check`: check one closed system, or all of them.

`refloop check models/NAME.py` checks the systems one file defines and
prints, for each, its bounds and summary and every counterexample (as
numbered steps and as Python). `refloop check` checks every file in
`models/` and prints a table. The exit status is 0 exactly when every
verdict is the expected one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checker import Result, check
from .report.summary import counterexample, summary, table
from .search.graph import Options
from .systems.system import load

__all__ = ["add_parser", "run"]


def _models() -> Path:
    here = Path("models")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "models"


def _files(paths: list[str]) -> list[Path]:
    if paths:
        return [Path(p) for p in paths]
    return sorted(p for p in _models().glob("*.py") if not p.name.startswith("_"))


def _progress(line: str) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"  ... {line}", end=end, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    options = Options(
        macro=not (args.no_macro or args.no_reduce),
        symmetry=not (args.no_symmetry or args.no_reduce),
        max_states=args.max_states,
        max_depth=args.max_depth,
        progress=None if args.quiet else _progress,
    )
    files = _files(args.paths)
    detail = len(args.paths) == 1 or args.verbose
    results: list[Result] = []
    for path in files:
        for system in load(path):
            if args.system and system.name not in args.system:
                continue
            result = check(system, options)
            results.append(result)
            if detail:
                print("\n".join(summary(result)))
            if detail or not result.as_expected:
                for c in result.failures.values():
                    print()
                    print("\n".join(counterexample(result, c, not args.no_snippets)))
            if detail:
                print()
    if not detail or len(results) > 1:
        print("\n".join(table(results)))
    return 0 if results and all(r.as_expected for r in results) else 1


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `check` on the `refloop` command line."""
    parser = subparsers.add_parser(
        "check",
        help="model-check closed systems (models/)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", help="system files (default: models/*.py)")
    parser.add_argument("--system", action="append", help="only the system so named")
    parser.add_argument(
        "--no-macro", action="store_true", help="no macro-step reduction"
    )
    parser.add_argument(
        "--no-symmetry", action="store_true", help="no symmetry reduction"
    )
    parser.add_argument("--no-reduce", action="store_true", help="no reduction at all")
    parser.add_argument("--max-states", type=int, help="stop after this many states")
    parser.add_argument("--max-depth", type=int, help="explore no deeper than this")
    parser.add_argument(
        "--no-snippets", action="store_true", help="print no Python replays"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="details for every system"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)
