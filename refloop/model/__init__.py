"""refloop's pure model: the loop as a state machine over immutable values.

Rule 1: this package imports nothing from the rest of refloop, and nothing
here does I/O, reads a clock or mutates a value it was given.
Rule 2: every transition cites the spec rule it carries (`# spec: <rule id>`).

`state` holds the values, `programs` the language model tasks run,
`events` what the transitions report, `transitions` the functions `spawn`,
`run_once` and `cancel` (`cancelling` how a request reaches a task, its
shields and scopes; `running` interprets a task's program, `sockops`
its socket operations, `update` the small updates they share; `sync` the
transitions of locks, events and channels, `syncops` their operations;
`schedule` the native loop's decisions as a run's trace shows them, with its
values in `schedule_events`),
`environment` the `peer_*`, `advance`, `thread_post`, `pool_finish` and
`inject_fault` (`faults`: what a system call makes of an
injected fault), `invariants` the `inv.*` predicates, and `step` applies an
action given as data. Three small models stand on their own, imported by
module: `stream` (one buffered stream and its peer), `condition` (a lock
with its condition and a semaphore, used by actor tasks, with the run
queue) and `group` (a task group's owner and children, cancelled from
inside and outside, with the run queue).
"""

from .actions import (
    Action as Action,
)
from .actions import (
    Advance as Advance,
)
from .actions import (
    CallLater as CallLater,
)
from .actions import (
    CallWhenIdle as CallWhenIdle,
)
from .actions import (
    Cancel as Cancel,
)
from .actions import (
    ForeignCall as ForeignCall,
)
from .actions import (
    InjectFault as InjectFault,
)
from .actions import (
    PeerClose as PeerClose,
)
from .actions import (
    PeerConnect as PeerConnect,
)
from .actions import (
    PeerRecv as PeerRecv,
)
from .actions import (
    PeerSend as PeerSend,
)
from .actions import (
    PoolFinish as PoolFinish,
)
from .actions import (
    Run as Run,
)
from .actions import (
    RunForever as RunForever,
)
from .actions import (
    RunOnce as RunOnce,
)
from .actions import (
    Shutdown as Shutdown,
)
from .actions import (
    Spawn as Spawn,
)
from .actions import (
    Stop as Stop,
)
from .actions import (
    ThreadCall as ThreadCall,
)
from .actions import (
    ThreadPost as ThreadPost,
)
from .actions import (
    step as step,
)
from .callbacks import EFFECTS as EFFECTS
from .callbacks import call_later as call_later
from .callbacks import call_when_idle as call_when_idle
from .callbacks import thread_call as thread_call
from .entry import deadlocked as deadlocked
from .entry import open_world as open_world
from .entry import run as run
from .environment import advance as advance
from .environment import inject_fault as inject_fault
from .environment import peer_close as peer_close
from .environment import peer_connect as peer_connect
from .environment import peer_recv as peer_recv
from .environment import peer_send as peer_send
from .environment import pool_finish as pool_finish
from .environment import thread_post as thread_post
from .events import TRACED as TRACED
from .events import Event as Event
from .events import TaskEvent as TaskEvent
from .events import event as event
from .faults import FAULT_KINDS as FAULT_KINDS
from .faults import SHORT as SHORT
from .faults import Fault as Fault
from .foreign import FOREIGN_CALLS as FOREIGN_CALLS
from .foreign import foreign_call as foreign_call
from .foreign import foreign_targets as foreign_targets
from .handlers import HANDLER_ERRORS as HANDLER_ERRORS
from .handlers import INTERRUPT as INTERRUPT
from .handlers import RAISES as RAISES
from .handlers import escaped as escaped
from .handlers import interrupts as interrupts
from .invariants import INVARIANTS as INVARIANTS
from .invariants import violated as violated
from .lifecycle import CLOSED_REFUSES as CLOSED_REFUSES
from .lifecycle import close as close
from .lifecycle import close_raises as close_raises
from .lifecycle import refuses as refuses
from .lifecycle import run_forever as run_forever
from .lifecycle import shutdown as shutdown
from .lifecycle import stop as stop
from .programs import Accept as Accept
from .programs import AwaitThread as AwaitThread
from .programs import Bracket as Bracket
from .programs import Call as Call
from .programs import CancelScopes as CancelScopes
from .programs import Close as Close
from .programs import EndCancelScope as EndCancelScope
from .programs import EndMoveOnAfter as EndMoveOnAfter
from .programs import InThread as InThread
from .programs import Join as Join
from .programs import MoveOnAfter as MoveOnAfter
from .programs import OnClose as OnClose
from .programs import Op as Op
from .programs import OpenCancelScope as OpenCancelScope
from .programs import Program as Program
from .programs import Recv as Recv
from .programs import Send as Send
from .programs import SendAll as SendAll
from .programs import Sleep as Sleep
from .programs import Suspend as Suspend
from .programs import WaitIdle as WaitIdle
from .programs import YieldNow as YieldNow
from .queries import ModelError as ModelError
from .queries import due_timers as due_timers
from .queries import is_ready as is_ready
from .queries import sock as sock
from .state import AGAIN as AGAIN
from .state import BASE as BASE
from .state import CANCEL as CANCEL
from .state import DONE as DONE
from .state import DROP as DROP
from .state import ERROR as ERROR
from .state import FAILED as FAILED
from .state import JOIN as JOIN
from .state import OK as OK
from .state import POOL as POOL
from .state import READ as READ
from .state import RUNNABLE as RUNNABLE
from .state import STATE_KEY as STATE_KEY
from .state import STOP as STOP
from .state import TASK_FIXED as TASK_FIXED
from .state import TASK_KEY as TASK_KEY
from .state import THREAD as THREAD
from .state import WAITING as WAITING
from .state import WITHDRAW as WITHDRAW
from .state import WRITE as WRITE
from .state import Callback as Callback
from .state import Sock as Sock
from .state import State as State
from .state import Task as Task
from .state import Timer as Timer
from .state import Waiter as Waiter
from .state import initial as initial
from .sync import declare_channel as declare_channel
from .sync import declare_channels as declare_channels
from .sync import owner as owner
from .syncops import SYNC_KINDS as SYNC_KINDS
from .syncops import Acquire as Acquire
from .syncops import ChanClose as ChanClose
from .syncops import Channel as Channel
from .syncops import ChanRecv as ChanRecv
from .syncops import ChanSend as ChanSend
from .syncops import Release as Release
from .syncops import SetEvent as SetEvent
from .syncops import SyncCall as SyncCall
from .syncops import WaitEvent as WaitEvent
from .transitions import MAX_POLL as MAX_POLL
from .transitions import begin as begin
from .transitions import cancel as cancel
from .transitions import run_next as run_next
from .transitions import run_once as run_once
from .transitions import spawn as spawn
