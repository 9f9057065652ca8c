"""Event lines stay whole when processes share the pipe.

A pipe keeps a write whole only up to PIPE_BUF bytes; ``forking_server``'s
children all write to the same one.  The ``repr`` of a 64 KiB chunk is a line
of hundreds of KiB, which the kernel splits and interleaves with the other
children's, so the servers bound each line and report a large chunk as several
``received`` lines.
"""

from __future__ import annotations

import ast
import random
import re
import socket
import threading

import pytest

from modern import common
from modern.common import LINE_MAX, Events
from wireproof.procs import WAIT, Proc, python_module, read_until_close

CLIENTS = 8
EACH = 4 << 20
# The documented format, with nothing before or after it.
RECEIVED = re.compile(rb"received 127\.0\.0\.1:(?P<port>\d+) (?P<literal>b(?:'.*'|\".*\"))")


def test_large_chunks_from_many_children_at_once_come_out_whole_and_in_order() -> None:
    server = Proc(python_module("modern.forking_server", "--like", "v4_select", "--port", "0"))
    port = server.listening()[1]
    # Every byte value, differently for each client: a line mixing two clients'
    # bytes, or a byte lost, changes what a client is reported to have sent.
    payloads = [random.Random(i).randbytes(EACH) for i in range(CLIENTS)]
    clients = [socket.create_connection(("127.0.0.1", port), timeout=WAIT)
               for _ in range(CLIENTS)]
    ports = [conn.getsockname()[1] for conn in clients]
    start = threading.Barrier(CLIENTS)

    def send(conn: socket.socket, payload: bytes) -> None:
        with conn:
            start.wait(WAIT)
            conn.sendall(payload)
            # Closing with the greeting unread would reset the connection, and
            # the server could lose what it had not read yet.
            conn.shutdown(socket.SHUT_WR)
            read_until_close(conn)

    senders = [threading.Thread(target=send, args=pair)
               for pair in zip(clients, payloads, strict=True)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(WAIT)
        assert not any(sender.is_alive() for sender in senders), "a client could not send"
        assert server.wait_until(
            lambda: sum(line.startswith(b"disconnected ") for line in server.lines) == CLIENTS,
            timeout=4 * WAIT), server.stderr[-2000:]
    finally:
        assert server.stop() == 0, server.stderr[-2000:]
    reported: dict[int, list[bytes]] = {port: [] for port in ports}
    malformed = []
    for line in server.lines[1:]:
        if line.startswith((b"connected ", b"disconnected ")):
            continue
        match = RECEIVED.fullmatch(line)
        if match is None or len(line) + 1 > LINE_MAX:
            malformed.append(line)
            continue
        data = ast.literal_eval(match["literal"].decode("ascii"))
        reported[int(match["port"])].append(data)
    assert not malformed, f"{len(malformed)} malformed lines, the first {malformed[0][:200]!r}"
    for port, payload in zip(ports, payloads, strict=True):
        assert b"".join(reported[port]) == payload, f"client on port {port}"
    assert "Traceback" not in server.stderr


@pytest.mark.parametrize("address", [("127.0.0.1", 40000),
                                     ("fe80::1234:5678:9abc:def0%eth0", 65535, 0, 2)])
@pytest.mark.parametrize("chunk", [b"\xff" * 70000, b"'\"\\" * 30000, b"x" * 65536, b"\n"])
def test_each_received_line_fits_in_one_pipe_write(
        address: tuple[object, ...], chunk: bytes, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # As in a forked child, which shares standard output with its siblings.
    monkeypatch.setattr(common, "SHARED_STDOUT", True)
    Events().received(address, chunk)
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line.encode()) + 1 <= LINE_MAX for line in lines)
    literals = [line.split(" ", 2)[2] for line in lines]
    assert b"".join(ast.literal_eval(literal) for literal in literals) == chunk


def test_a_process_of_its_own_reports_a_chunk_in_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Its threads share the lock: no need to split, and one line per chunk.
    assert not common.SHARED_STDOUT
    chunk = b"\xff" * 65536
    Events().received(("127.0.0.1", 40000), chunk)
    assert capsys.readouterr().out == f"received 127.0.0.1:40000 {chunk!r}\n"
