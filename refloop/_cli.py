"""The `refloop` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from ._demo import MESSAGES, demo

    received = demo()
    return 0 if received == MESSAGES else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refloop",
        description="An event loop whose behaviour is specified, modelled and checked.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the seed's client/server example over TCP"
    )
    demo.set_defaults(func=_demo)
    from .fuzz.cli import add_parser as add_fuzz

    add_fuzz(commands)
    from .check.cli import add_parser as add_check

    add_check(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
