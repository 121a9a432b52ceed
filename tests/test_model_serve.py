"""The model of a server's accept loop (refloop/model/serve.py), on the
cases spec/12-streams.md states (serve.backoff, op.accept.aborted,
serve.shutdown)."""

from __future__ import annotations

import pytest

from refloop.model import serve as m


def _connected(n: int) -> m.Server:
    s = m.settle(m.Server())
    for _ in range(n):
        s = m.connect(s)
    return s


@pytest.mark.spec("serve.backoff")
def test_a_long_shortage_doubles_the_delay_up_to_the_cap() -> None:
    s = m.settle(m.Server())
    for _ in range(6):
        s = m.fail_next(s, "EMFILE")
    s = m.connect(s)  # the connection wakes the loop; its accept meets EMFILE
    assert s.logged == (0.1,) and s.wake_at == 0.1 and not s.waiting
    for _ in range(5):
        s = m.advance(s, 1.0)
    assert s.logged == (0.1, 0.2, 0.4, 0.8, 1.0, 1.0)
    assert s.clients == (m.QUEUED,)  # never accepted while asleep
    s = m.advance(s, 1.0)
    assert s.clients == (m.SERVED,) and s.waiting and s.delay == m.FIRST


@pytest.mark.spec("serve.backoff")
def test_nothing_is_accepted_or_tried_while_asleep() -> None:
    s = m.fail_next(m.settle(m.Server()), "ENFILE")
    s = m.connect(s)
    tried = s.attempts
    s = m.connect(m.connect(s))
    s = m.advance(s, 0.05)
    assert s.attempts == tried and s.clients.count(m.QUEUED) == 3
    s = m.advance(s, 0.05)  # 0.1 s: the back-off is over
    assert s.clients == (m.SERVED,) * 3
    # three accepts and one that would block
    assert s.attempts == tried + 4 and s.waiting


@pytest.mark.spec("op.accept.aborted", "op.eintr")
def test_an_aborted_client_and_eintr_are_retried_at_once() -> None:
    s = m.settle(m.Server())
    for fault in ("ECONNABORTED", "EPROTO", m.EINTR):
        s = m.fail_next(s, fault)
    s = m.connect(s)
    assert s.logged == () and s.wake_at is None
    assert s.clients == (m.SERVED,) and s.attempts == 1 + 3 + 2


@pytest.mark.spec("serve.backoff", "serve.shutdown")
def test_another_error_ends_the_server_and_closes_everything() -> None:
    s = m.fail_next(_connected(2), m.ENDING)
    s = m.connect(s)
    assert s.ended == m.ENDING and s.clients == (m.GONE,) * 3
    assert m.connect(s) == s and m.cancel(s) == s


@pytest.mark.spec("serve.shutdown", "serve.task-per-connection")
def test_cancel_closes_served_and_queued_clients() -> None:
    s = m.fail_next(_connected(1), "ENOMEM")
    s = m.connect(s)
    assert s.clients == (m.SERVED, m.QUEUED) and m.live(s) == 1
    s = m.cancel(s)
    assert s.ended == m.CANCELLED and s.clients == (m.GONE, m.GONE)
    assert m.live(s) == 0 and not s.waiting and s.wake_at is None


@pytest.mark.spec("serve.task-per-connection")
def test_a_client_that_hung_up_in_the_queue_is_accepted_and_its_task_ends() -> None:
    s = m.connect(m.fail_next(m.settle(m.Server()), "EMFILE"))
    s = m.hang_up(s, 0)
    assert s.clients == (m.QUEUED,)
    s = m.advance(s, 0.1)
    assert s.clients == (m.GONE,) and m.live(s) == 0


@pytest.mark.spec("serve.handler-fails")
def test_a_line_over_max_line_fails_its_handler_only() -> None:
    s = m.Server(max_line=2)
    s = m.connect(m.connect(m.settle(s)))
    s, echoed = m.send_line(s, 0, 1)  # b"x\n": two bytes, it fits
    assert echoed and m.live(s) == 2
    s, echoed = m.send_line(s, 1, 2)
    assert not echoed and s.failures == 1 and s.clients == (m.SERVED, m.GONE)
    assert s.ended is None and m.live(s) == 1
