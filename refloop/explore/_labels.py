"""The readable text of each kind of decision (the printed schedule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._executor import Job

__all__ = ["cut", "delay_label", "holds", "jumps", "posts", "reset_label"]


def jumps(now: float, candidates: list[float], start: int) -> Callable[[int], str]:
    def label(pick: int) -> str:
        if pick == 0 and start == 1:
            return "the clock stays"
        target = candidates[pick - start]
        return f"the clock moves {target - now:g} s to {target:g}"

    return label


def posts(job: Job) -> Callable[[int], str]:
    def label(pick: int) -> str:
        what = f"the result of {job.name()} (job #{job.seq})"
        return f"post {what} now" if pick == 0 else f"hold {what} back {pick} poll(s)"

    return label


def holds(name: str, fd: int, reg: int) -> Callable[[int], str]:
    def label(pick: int) -> str:
        what = f"{name} readiness of fd {fd} (registration #{reg})"
        if pick == 0:
            return f"report {what}"
        return f"hold {what} back for {pick} poll(s)"

    return label


def cut(op: str, options: list[int]) -> Callable[[int], str]:
    def label(pick: int) -> str:
        return f"{op} moves {options[pick]} of {options[0]} byte(s)"

    return label


def delay_label(n: int) -> Callable[[int], str]:
    def label(pick: int) -> str:
        return f"{n} byte(s) travel {pick} poll(s) before they arrive"

    return label


def reset_label(what: str, op: str) -> Callable[[int], str]:
    def label(pick: int) -> str:
        return f"{op}: the connection {what} is reset" if pick else f"{op} proceeds"

    return label
