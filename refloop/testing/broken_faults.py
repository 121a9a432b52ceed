"""Deliberately broken loops that mishandle a fault the OS gives (spec:
op.error, op.eintr; env.fault injects them). Each brings its own socket
operations (`operations`, refloop.testing.protocol): refloop's, with one
changed, so what is tested is the stateful test's power to notice it.
"""

from __future__ import annotations

import socket
import types
from functools import partial

from .. import _ops
from .._loop import Loop
from .._runtime import current_loop
from .._suspend import requeue, suspend
from .._waiters import READ

__all__ = ["SwallowResetLoop", "WaitOnEintrLoop"]


async def _recv_swallowing_resets(sock: socket.socket, nbytes: int) -> bytes:
    while True:
        try:
            return await _ops.recv(sock, nbytes)
        except ConnectionResetError:
            await suspend(partial(current_loop()._park, sock, READ))


class SwallowResetLoop(Loop):
    """Its `recv` takes ECONNRESET for would-block and waits for readiness
    again (breaks op.error): the task waits on a connection that will
    deliver nothing, instead of failing with ConnectionResetError."""

    operations = types.SimpleNamespace(
        recv=_recv_swallowing_resets,
        send=_ops.send,
        sendall=_ops.sendall,
        accept=_ops.accept,
    )


async def _recv_waiting_on_eintr(sock: socket.socket, nbytes: int) -> bytes:
    """refloop's recv (budget, try first, errors), but for its EINTR clause."""
    loop = current_loop()
    task = loop._current
    assert task is not None
    if task._spent():
        await suspend(requeue)
    while True:
        try:
            data = sock.recv(nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as err:
            raise _ops._failed(err, sock, "recv") from None
        else:
            task._count_op()
            return data
        await suspend(partial(loop._park, sock, READ))


class WaitOnEintrLoop(Loop):
    """Its `recv` takes EINTR for would-block, as asyncio does, and waits
    for readiness before the retry (breaks op.eintr): a task whose data was
    there runs an iteration late."""

    operations = types.SimpleNamespace(
        recv=_recv_waiting_on_eintr,
        send=_ops.send,
        sendall=_ops.sendall,
        accept=_ops.accept,
    )
