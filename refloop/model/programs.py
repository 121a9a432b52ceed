"""The little language that model tasks run.

A program is a tuple of operations; each is a frozen dataclass with a short
repr that can be pasted back into Python. Socket names are strings: the
harness and the model checker decide what they stand for. A listener `L`
names the k-th connection it accepts `L.k`.

Results a task observes are appended to its log: `Recv` logs the bytes,
`Send` the count sent, `SendAll` the length of its data, `Accept` the new
socket's name, `Join` the pair ("join", tid). `Close`, `Yield` and `Sleep`
log nothing, nor do `WhenIdle` and `AwaitThread`. Time is counted in whole
ticks (one tick is one second of the loop's clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from .syncops import (
    Acquire,
    ChanClose,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    WaitEvent,
)

__all__ = [
    "Accept",
    "AwaitThread",
    "Close",
    "CloseTimeout",
    "Join",
    "Op",
    "OpenTimeout",
    "Program",
    "Recv",
    "Send",
    "SendAll",
    "Sleep",
    "WhenIdle",
    "Yield",
]


@dataclass(frozen=True, slots=True)
class Recv:
    """`await recv(sock, n)`"""

    sock: str
    n: int


@dataclass(frozen=True, slots=True)
class Send:
    """`await send(sock, data)`"""

    sock: str
    data: bytes


@dataclass(frozen=True, slots=True)
class SendAll:
    """`await sendall(sock, data)`"""

    sock: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Accept:
    """`await accept(sock)`"""

    sock: str


@dataclass(frozen=True, slots=True)
class Close:
    """`close(sock)` (never suspends)"""

    sock: str


@dataclass(frozen=True, slots=True)
class Yield:
    """`await yield_now()`"""


@dataclass(frozen=True, slots=True)
class Join:
    """`await task.join()` for the task numbered `tid`"""

    tid: int


@dataclass(frozen=True, slots=True)
class Sleep:
    """`await sleep(ticks)`"""

    ticks: int


@dataclass(frozen=True, slots=True)
class WhenIdle:
    """`await wait_idle()`"""


@dataclass(frozen=True, slots=True)
class AwaitThread:
    """Suspend, handing the continuation to another thread, which resumes it
    with `call_soon_threadsafe` when the environment says (`thread_post`)."""


@dataclass(frozen=True, slots=True)
class OpenTimeout:
    """`with move_on_after(ticks):` begins; the matching CloseTimeout ends it.
    When it fires, the task goes on after the matching CloseTimeout."""

    ticks: int


@dataclass(frozen=True, slots=True)
class CloseTimeout:
    """The end of the innermost open timeout; logs ("timeout", fired)."""


Op = (
    Recv
    | Send
    | SendAll
    | Accept
    | Close
    | Yield
    | Join
    | Sleep
    | WhenIdle
    | AwaitThread
    | OpenTimeout
    | CloseTimeout
    # spec/11-sync.md (refloop.model.syncops)
    | Acquire
    | Release
    | SetEvent
    | WaitEvent
    | ChanSend
    | ChanRecv
    | ChanClose
)
Program = tuple[Op, ...]


def matching_close(program: Program, opened: int) -> int:
    """The index of the CloseTimeout that ends the OpenTimeout at `opened`."""
    depth = 0
    for i in range(opened, len(program)):
        if isinstance(program[i], OpenTimeout):
            depth += 1
        elif isinstance(program[i], CloseTimeout):
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"the timeout opened at {opened} is never closed in {program!r}")
