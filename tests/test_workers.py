"""--workers N: processes sharing the port, stopped and reaped together."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from modern import common
from modern.common import CONVERSATIONS
from wireproof.procs import WAIT, Proc, asleep, doing, python_module, read_until_close

SERVERS = [
    ["modern.selectors_server", "--like", "v4_select"],
    ["modern.asyncio_server", "--like", "v4_select", "--loop", "asyncio"],
    ["modern.asyncio_server", "--like", "v4_select", "--loop", "uvloop"],
]
IDS = ["selectors", "asyncio", "uvloop"]
GREETING = CONVERSATIONS["v4_select"].greeting
# Enough that the kernel's hash leaves no worker without one: all 40 on one
# of two workers has a chance of one in 2**39.
CONNECTIONS = 40
EVENT = re.compile(rb"(?:listening on|connected|disconnected) 127\.0\.0\.1:\d+"
                   rb"|received 127\.0\.0\.1:\d+ b'[^']*'")


def start(command: list[str], workers: int = 2) -> tuple[Proc, int, list[int]]:
    if "uvloop" in command:
        pytest.importorskip("uvloop")
    server = Proc(python_module(*command, "--port", "0", "--workers", str(workers)))
    port = server.listening()[1]
    assert server.wait_until(lambda: len(server.children()) == workers), server.children()
    children = sorted(server.children())
    # Forked is not started: a worker opens its event loop's descriptors
    # (asyncio's: an epoll and a socket pair) after the fork, and under load
    # a count taken before then found 44 descriptors for 40 connections.  A
    # worker asleep has its loop waiting.
    assert server.wait_until(lambda: all(asleep(pid) is not False for pid in children)), (
        {pid: doing(pid) for pid in children})
    return server, port, children


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: neither gone nor a zombie (an orphan is
    reaped by whoever adopts it, not by this test)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def count(server: Proc, kind: bytes) -> int:
    return sum(line.startswith(kind) for line in server.lines)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("command", SERVERS, ids=IDS)
def test_workers_share_the_port_and_stop_together(command: list[str], signum: int) -> None:
    server, port, workers = start(command)
    idle = {pid: descriptors(pid) for pid in workers}
    clients = [socket.create_connection(("127.0.0.1", port), timeout=WAIT)
               for _ in range(CONNECTIONS)]
    try:
        for conn in clients:
            assert conn.recv(len(GREETING), socket.MSG_WAITALL) == GREETING
            conn.sendall(b"hi from %d" % conn.getsockname()[1])
        assert server.wait_until(lambda: count(server, b"received ") == CONNECTIONS)
        held = {pid: descriptors(pid) - idle[pid] for pid in workers}
        # Every connection is a descriptor in exactly one worker, and each
        # worker holds some.
        assert sum(held.values()) == CONNECTIONS, held
        assert all(held.values()), held
        assert server.stop(signum) == 0, server.stderr
        # Every client sees its connection closed by the worker that held it.
        for conn in clients:
            assert read_until_close(conn) == b""
    finally:
        for conn in clients:
            conn.close()
        server.kill()
    # Reaped: no worker outlives the server, running or as a zombie.
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert count(server, b"listening on ") == 1
    assert count(server, b"disconnected ") == CONNECTIONS
    assert all(EVENT.fullmatch(line) for line in server.lines), server.lines
    assert server.stderr == ""


@pytest.mark.parametrize("command", SERVERS[:2], ids=IDS[:2])
def test_a_worker_that_dies_is_logged_and_the_others_serve_on(command: list[str]) -> None:
    server, port, workers = start(command)
    try:
        os.kill(workers[0], signal.SIGKILL)
        assert server.wait_until(lambda: f"worker {workers[0]} exited with status -9; 1 left"
                                 in server.stderr), server.stderr
        # The dead worker's socket is gone with it: every new connection
        # reaches the one that is left.
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
                assert conn.recv(len(GREETING), socket.MSG_WAITALL) == GREETING
    finally:
        assert server.stop() == 0, server.stderr
    assert not Path(f"/proc/{workers[1]}").exists()


@pytest.mark.parametrize("command", SERVERS[:2], ids=IDS[:2])
def test_workers_stop_when_the_parent_is_killed_outright(command: list[str]) -> None:
    server, port, workers = start(command)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
        assert conn.recv(len(GREETING), socket.MSG_WAITALL) == GREETING
        server.kill()
        # No parent left to stop them: each worker notices and stops itself,
        # closing its connections.
        assert read_until_close(conn) == b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(map(running, workers)):
        time.sleep(0.05)  # polls /proc; what is waited for is the workers' exit
    assert not [pid for pid in workers if running(pid)]


def test_without_so_reuseport_workers_are_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delattr(socket, "SO_REUSEPORT")
    with pytest.raises(SystemExit) as exited:
        common.listen_shared("127.0.0.1", 0, 2)
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        "error: --workers needs SO_REUSEPORT, which this platform does not have\n")
