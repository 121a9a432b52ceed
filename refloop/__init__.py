"""refloop: an event loop whose behaviour is specified, modelled and checked.

The public API. See spec/ for what each piece must do.
"""

from ._cancelscope import CancelScope as CancelScope
from ._cancelscope import sleep_forever as sleep_forever
from ._channel import Channel as Channel
from ._condition import Condition as Condition
from ._errors import BusyError as BusyError
from ._errors import Cancelled as Cancelled
from ._errors import ChannelClosed as ChannelClosed
from ._errors import ClosedError as ClosedError
from ._errors import EndOfChannel as EndOfChannel
from ._errors import FrameError as FrameError
from ._errors import LoopError as LoopError
from ._errors import RefloopError as RefloopError
from ._errors import ResumeError as ResumeError
from ._framing import DEFAULT_MAX_FRAME as DEFAULT_MAX_FRAME
from ._framing import recv_message as recv_message
from ._framing import send_message as send_message
from ._loop import DEFAULT_BUDGET as DEFAULT_BUDGET
from ._loop import Loop as Loop
from ._loop import Waiter as Waiter
from ._loop import run as run
from ._ops import accept as accept
from ._ops import close as close
from ._ops import connect as connect
from ._ops import recv as recv
from ._ops import send as send
from ._ops import sendall as sendall
from ._ops import sleep as sleep
from ._ops import wait_idle as wait_idle
from ._ops import yield_now as yield_now
from ._runtime import current_loop as current_loop
from ._runtime import current_task as current_task
from ._scopes import TaskGroup as TaskGroup
from ._scopes import move_on_after as move_on_after
from ._scopes import timeout as timeout
from ._spawn import spawn as spawn
from ._suspend import Continuation as Continuation
from ._suspend import suspend as suspend
from ._sync import BoundedSemaphore as BoundedSemaphore
from ._sync import Event as Event
from ._sync import Lock as Lock
from ._sync import Semaphore as Semaphore
from ._task import Task as Task
from ._threads import run_in_thread as run_in_thread
from ._timers import TimerHandle as TimerHandle
from ._timers import VirtualClock as VirtualClock

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_FRAME",
    "BoundedSemaphore",
    "BusyError",
    "CancelScope",
    "Cancelled",
    "Channel",
    "ChannelClosed",
    "ClosedError",
    "Condition",
    "Continuation",
    "EndOfChannel",
    "Event",
    "FrameError",
    "Lock",
    "Loop",
    "LoopError",
    "RefloopError",
    "ResumeError",
    "Semaphore",
    "Task",
    "TaskGroup",
    "TimerHandle",
    "VirtualClock",
    "Waiter",
    "accept",
    "close",
    "connect",
    "current_loop",
    "current_task",
    "move_on_after",
    "recv",
    "recv_message",
    "run",
    "run_in_thread",
    "send",
    "send_message",
    "sendall",
    "sleep",
    "sleep_forever",
    "spawn",
    "suspend",
    "timeout",
    "wait_idle",
    "yield_now",
]
