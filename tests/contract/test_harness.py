"""The harness itself: a peer that resets or vanishes is a verdict, never a crash."""

from __future__ import annotations

import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from wireproof import cases
from wireproof.implementation import Implementation, target
from wireproof.procs import WAIT
from wireproof.session import (
    CLIENT_PORTS,
    Conn,
    ContractFailure,
    LocalPorts,
    Session,
    connect_from,
)


@pytest.fixture
def reset_conn() -> Iterator[tuple[Session, Conn]]:
    """A client connection that its server has reset (SO_LINGER 0) once the
    client was fully connected."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    connected = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        connected.wait(WAIT)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        session = Session(target("v4_select"), target=listener.getsockname()[:2])
        conn = session.connect()
        connected.set()
        # The server's RST arrives as soon as it closes; recv sees it as a close.
        assert conn._recv(1, time.monotonic() + WAIT) == b""
        yield session, conn
    finally:
        connected.set()
        thread.join(WAIT)
        listener.close()
    assert not thread.is_alive()


def test_send_to_a_reset_peer_is_a_contract_failure(reset_conn: tuple[Session, Conn]) -> None:
    session, conn = reset_conn
    with pytest.raises(ContractFailure) as failure:
        for _ in range(100):  # the first send may be buffered before the RST is seen
            conn.send(b"x" * 65536)
    assert failure.value.what.startswith("client1 sends")
    assert "Error" in str(failure.value.observed)
    assert any("failed:" in line for line in session.transcript)


def test_shutdown_of_a_reset_connection_is_a_contract_failure(
        reset_conn: tuple[Session, Conn]) -> None:
    _, conn = reset_conn
    with pytest.raises(ContractFailure) as failure:
        conn.shutdown_write()
    assert "shuts down" in failure.value.what
    assert "ENOTCONN" in failure.value.observed or "not connected" in failure.value.observed


# A server that says it listens and that a client connected, then prints
# nothing more for as long as it lives (bounded: the session kills it).
FALLS_SILENT = ("import socket, sys, time\n"
                "s = socket.create_server(('127.0.0.1', 0))\n"
                "print('listening on 127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
                "c, a = s.accept()\n"
                "print('connected %s:%d' % a, flush=True)\n"
                "time.sleep(float(sys.argv[1]))\n")


@pytest.mark.parametrize(("lives", "why"), [
    (60.0, "no new output line for 0.5 s (2 lines in all): waited long enough"),
    (0.0, None)])
def test_a_wait_that_gives_up_says_why(monkeypatch: pytest.MonkeyPatch, lives: float,
                                       why: str | None) -> None:
    monkeypatch.setattr("wireproof.session.SILENCE", 0.5)
    impl = Implementation("falls_silent", "v4_select", False,
                          lambda host, port: [sys.executable, "-c", FALLS_SILENT, str(lives)])
    session = Session(impl)
    try:
        conn = session.connect()
        session.expect_event("connected", conn)
        conn.send(b"x" * 1000)  # never read
        with pytest.raises(ContractFailure) as failure:
            session.expect_event("disconnected", conn)
    finally:
        session.close()
    if why is None:  # it exited: the verdict says so
        assert "the server exited with status 0" in failure.value.observed
        assert not any("waited long enough" in line for line in session.transcript)
    else:
        gave_up = next(i for i, line in enumerate(session.transcript) if "waited long" in line)
        assert session.transcript[gave_up].endswith(why), session.transcript
        # Then where it waits (asleep), and what is queued between them: the
        # 1000 bytes it never read.
        assert ": S" in session.transcript[gave_up + 1], session.transcript
        assert session.transcript[gave_up + 2].endswith(
            "client1: 0 bytes sent, not yet acknowledged; 1000 in the server's receive queue, "
            "not yet read"), session.transcript


def _hold_next_port(ports: LocalPorts, sock: socket.socket) -> int:
    """Bind ``sock`` to the port ``ports`` will try next, ``ports`` moved on
    past any ``sock`` cannot have."""
    for _ in range(len(CLIENT_PORTS)):
        port = CLIENT_PORTS[ports._next % len(CLIENT_PORTS)]
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            ports._next += 1
            continue
        return port
    pytest.fail("every client port is held")


def test_a_connection_comes_from_the_next_port_nobody_holds() -> None:
    ports = LocalPorts()
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket() as other:
        # The next port is one this session used already, a later one another
        # socket holds (without SO_REUSEADDR, as anyone's but ours): the
        # connection comes from neither.
        start = ports._next
        used = CLIENT_PORTS[start % len(CLIENT_PORTS)]
        ports.used.add(used)
        ports._next += 1
        held = _hold_next_port(ports, other)
        ports._next = start
        with connect_from(ports, "127.0.0.1", listener.getsockname()[1]) as conn:
            port = conn.getsockname()[1]
            assert port in CLIENT_PORTS and port not in (used, held) and port in ports.used
            accepted, peer = listener.accept()
            accepted.close()
            assert peer[1] == port


def test_a_port_in_time_wait_is_taken_again() -> None:
    # A suite under load closes more connections in a minute than there are
    # client ports: one our client closed first must serve the next.
    ports = LocalPorts()
    with socket.create_server(("127.0.0.1", 0)) as first, \
            socket.create_server(("127.0.0.1", 0)) as second:
        with socket.socket() as earlier:
            earlier.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            port = _hold_next_port(ports, earlier)
            earlier.connect(first.getsockname())
            accepted, _ = first.accept()
        accepted.close()  # closed second: the TIME_WAIT is the client's
        with connect_from(ports, "127.0.0.1", second.getsockname()[1]) as conn:
            assert conn.getsockname()[1] == port
            second.accept()[0].close()


def test_a_port_with_a_connection_to_the_same_address_is_passed_over() -> None:
    ports = LocalPorts()
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket() as earlier:
        earlier.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = _hold_next_port(ports, earlier)
        earlier.connect(listener.getsockname())
        with connect_from(ports, "127.0.0.1", listener.getsockname()[1]) as conn:
            assert conn.getsockname()[1] != port and conn.getsockname()[1] in ports.used


def test_a_reset_storm_comes_from_as_many_ports() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=256) as listener:
        session = Session(target("v4_select"), target=listener.getsockname()[:2])
        for i in range(200):
            session.connect(f"storm{i}").reset()
        assert len({conn.address for conn in session.conns}) == 200
        session.close()


# A server that greets its client, then holds SIGINT back until the next
# connection: a stand-in for a loop that Ctrl-C reached just before it blocked
# in accept(), whose handler runs only once something wakes it.
WAKES_LATE = ("import signal, socket\n"
              "s = socket.create_server(('127.0.0.1', 0))\n"
              "print('listening on 127.0.0.1:%d' % s.getsockname()[1], flush=True)\n"
              "c, a = s.accept()\n"
              "print('connected %s:%d' % a, flush=True)\n"
              "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
              "c.sendall(b'connect to server successful')\n"
              "s.accept()\n"
              "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})\n")


def test_a_server_that_outlives_its_stop_signal_is_shown_what_wakes_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "STOP_WAIT", 0.5)
    impl = Implementation("wakes_late", "v4_select", False,
                          lambda host, port: [sys.executable, "-c", WAKES_LATE])
    session = Session(impl)
    try:
        with pytest.raises(ContractFailure) as failure:
            cases.BY_ID["shutdown.sigint"].run(session)
    finally:
        stderr = session.close()
    # Asleep in the kernel (in accept, by whatever name the kernel gives it).
    assert re.fullmatch(r"still running after 0\.5 s \(S in \w+, SIGINT caught, blocked, "
                        r"pending\); a connection woke it: exit status -2",
                        str(failure.value.observed)), session.transcript
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
