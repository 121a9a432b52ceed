"""refloop: an event loop whose behaviour is specified, modelled and checked.

The public API. See spec/ for what each piece must do.
"""

from ._cancelscope import CancelScope as CancelScope
from ._cancelscope import sleep_forever as sleep_forever
from ._channel import Channel as Channel
from ._clock import VirtualClock as VirtualClock
from ._condition import Condition as Condition
from ._connect import open_tcp_connection as open_tcp_connection
from ._errors import BusyError as BusyError
from ._errors import Cancelled as Cancelled
from ._errors import ChannelClosed as ChannelClosed
from ._errors import ClosedError as ClosedError
from ._errors import EndOfChannel as EndOfChannel
from ._errors import FrameError as FrameError
from ._errors import IncompleteReadError as IncompleteReadError
from ._errors import LimitOverrunError as LimitOverrunError
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
from ._serve import open_tcp_listeners as open_tcp_listeners
from ._serve import serve_listeners as serve_listeners
from ._serve import serve_tcp as serve_tcp
from ._snapshot import CallView as CallView
from ._snapshot import JoinView as JoinView
from ._snapshot import PostedView as PostedView
from ._snapshot import Snapshot as Snapshot
from ._snapshot import TaskView as TaskView
from ._spawn import spawn as spawn
from ._streams import DEFAULT_MAX_LINE as DEFAULT_MAX_LINE
from ._streams import Stream as Stream
from ._suspend import Continuation as Continuation
from ._suspend import suspend as suspend
from ._sync import BoundedSemaphore as BoundedSemaphore
from ._sync import Event as Event
from ._sync import Lock as Lock
from ._sync import Semaphore as Semaphore
from ._task import Task as Task
from ._threads import run_in_thread as run_in_thread
from ._timers import TimerHandle as TimerHandle
from ._tls import HandshakeError as HandshakeError
from ._tls import TLSStream as TLSStream
from ._tls import open_tls_connection as open_tls_connection
from ._tls import wrap_tls as wrap_tls

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_FRAME",
    "DEFAULT_MAX_LINE",
    "BoundedSemaphore",
    "BusyError",
    "CallView",
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
    "HandshakeError",
    "IncompleteReadError",
    "JoinView",
    "LimitOverrunError",
    "Lock",
    "Loop",
    "LoopError",
    "PostedView",
    "RefloopError",
    "ResumeError",
    "Semaphore",
    "Snapshot",
    "Stream",
    "TLSStream",
    "Task",
    "TaskGroup",
    "TaskView",
    "TimerHandle",
    "VirtualClock",
    "Waiter",
    "accept",
    "close",
    "connect",
    "current_loop",
    "current_task",
    "move_on_after",
    "open_tcp_connection",
    "open_tcp_listeners",
    "open_tls_connection",
    "recv",
    "recv_message",
    "run",
    "run_in_thread",
    "send",
    "send_message",
    "sendall",
    "serve_listeners",
    "serve_tcp",
    "sleep",
    "sleep_forever",
    "spawn",
    "suspend",
    "timeout",
    "wait_idle",
    "wrap_tls",
    "yield_now",
]
