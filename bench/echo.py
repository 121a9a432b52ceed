"""Echo over loopback TCP: one server process per peer, one load client.

Each round starts every peer's server (bench.servers), then for each case
runs the load client (bench.client, a fresh process each time) against each
server in turn, and stops the servers when the round ends. Between two
measurements the runner waits for the last server to go quiet, so a server
still closing 1,000 connections does not share the machine with the next.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.cpu import wait_quiet
from bench.runner import (
    ROOT,
    Case,
    Measure,
    PeerFailed,
    PeerSkipped,
    child_env,
    pin,
)
from bench.servers import SERVERS


@dataclass
class Server:
    peer: str
    proc: subprocess.Popen[bytes]
    port: int = 0
    failure: str = ""
    skip: str = ""


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """One line from a child's stdout, or b"" if none comes within `timeout`."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return b""
            chunk = os.read(fd, 1)
            if not chunk:
                return data
            data += chunk
    return data


def _start(peer: str, log_dir: Path) -> Server:
    with open(log_dir / f"echo-{peer}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVERS[peer], "0"],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=log,
            preexec_fn=pin(),
        )
    return Server(peer, proc)


def _await_ready(server: Server, timeout: float) -> None:
    assert server.proc.stdout is not None
    line = _read_line(server.proc.stdout, timeout).decode(errors="replace").split()
    if len(line) >= 2 and line[0] == "READY":
        server.port = int(line[1])
    elif line and line[0] == "SKIP":
        server.skip = " ".join(line[1:])
    else:
        server.failure = f"did not start (see logs/echo-{server.peer}.log): {line!r}"


def _stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.communicate()


def _client(
    server: Server, params: Mapping[str, Any], timeout: float
) -> dict[str, Any]:
    args = [params[k] for k in ("size", "conns", "warmup", "seconds")]
    cmd = [sys.executable, "-m", "bench.client", str(server.port), *map(str, args)]
    cmd.append(str(server.proc.pid))
    try:
        done = subprocess.run(
            cmd,
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=pin(),
        )
    except subprocess.TimeoutExpired:
        raise PeerFailed(f"the load client took over {timeout:.0f} s") from None
    if done.returncode != 0 or not done.stdout.strip():
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        raise PeerFailed(f"the load client failed: {tail}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def echo_rounds(
    peers: list[str], log_dir: Path
) -> Callable[[int], AbstractContextManager[Measure]]:
    """Rounds for the echo benchmark: start every server, yield a measure."""

    @contextlib.contextmanager
    def open_round(r: int) -> Iterator[Measure]:
        log_dir.mkdir(parents=True, exist_ok=True)
        servers = {peer: _start(peer, log_dir) for peer in peers}
        try:
            for server in servers.values():
                _await_ready(server, 30)

            def measure(peer: str, case: Case) -> Mapping[str, Any]:
                server = servers[peer]
                if server.skip:
                    raise PeerSkipped(server.skip)
                if server.failure:
                    raise PeerFailed(server.failure)
                if server.proc.poll() is not None:
                    raise PeerFailed(f"the server exited with {server.proc.returncode}")
                p = case.params
                try:
                    out = _client(server, p, timeout=60 + p["warmup"] + p["seconds"])
                finally:
                    if server.proc.poll() is None:
                        wait_quiet(server.proc.pid)
                if not out["requests"]:
                    raise PeerFailed("no request completed in the window")
                return {
                    "metrics": {
                        "rps": out["requests"] / out["elapsed"],
                        "us_cpu_per_req": out["server_cpu"] / out["requests"] * 1e6,
                        "client_busy": out["client_cpu"] / out["elapsed"] * 100,
                    },
                    "extra": out,
                }

            yield measure
        finally:
            for server in servers.values():
                _stop(server)

    return open_round
