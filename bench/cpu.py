"""Another process's CPU time, read without its help.

Linux lets any process read any other's CPU clock through clock_gettime
with the clock id the kernel derives from the pid (MAKE_PROCESS_CPUCLOCK in
include/linux/posix-timers.h: ``(~pid << 3) | CPUCLOCK_SCHED``). It counts
every thread, to the nanosecond; /proc/PID/stat, the fallback, counts in
clock ticks (10 ms here), too coarse for a one-second window.
"""

from __future__ import annotations

import os
import time

_CPUCLOCK_SCHED = 2


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds that process `pid` has used so far."""
    try:
        return time.clock_gettime((~pid << 3) | _CPUCLOCK_SCHED)
    except (OSError, OverflowError):
        pass
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        # The command name may hold spaces; the fields after ')' do not.
        fields = f.read().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def wait_quiet(pid: int, *, settle: float = 0.02, limit: float = 2.0) -> None:
    """Wait until `pid` burns under 2% CPU over `settle` seconds (or `limit`
    passes): a server still closing 1,000 connections must not steal the
    second core from the next server's measurement."""
    deadline = time.monotonic() + limit
    before = process_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = process_cpu(pid)
        if now - before < settle * 0.02:
            return
        before = now
