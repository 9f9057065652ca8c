"""``wireproof record``: real traffic through a transparent proxy becomes
sessions that ``diff --sessions`` replays, byte for byte."""

from __future__ import annotations

import json
import socket
import struct
import sys
from pathlib import Path

from wireproof import sessions
from wireproof.procs import WAIT, Proc, python_module, read_until_close, run


def mutant(mode: str) -> str:
    return f"{sys.executable} tests/wireproof_mutant.py {mode} --port {{port}}"


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(WAIT)
    data = b""
    while len(data) < size and (chunk := sock.recv(size - len(data))):
        data += chunk
    return data


def test_recorded_connections_become_sessions_that_replay(tmp_path: Path) -> None:
    out = tmp_path / "recorded.json"
    upstream = Proc([sys.executable, "tests/wireproof_mutant.py", "echo", "--port", "0"])
    try:
        host, port = upstream.listening()
        proxy = Proc(python_module("wireproof", "record", "--listen", "127.0.0.1:0",
                                   "--upstream", f"{host}:{port}", "--out", str(out),
                                   "--count", "2"))
        try:
            address = proxy.listening()
            with socket.create_connection(address, timeout=WAIT) as client:
                assert recv_exactly(client, 6) == b"hello\n"
                client.sendall(bytes(range(256)))
                assert recv_exactly(client, 256) == bytes(range(256))
                client.shutdown(socket.SHUT_WR)
                assert read_until_close(client) == b""
            with socket.create_connection(address, timeout=WAIT) as client:
                assert recv_exactly(client, 6) == b"hello\n"
                client.sendall(b"going\n")
                assert recv_exactly(client, 6) == b"going\n"
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            assert proxy.wait() == 0, proxy.stderr
        finally:
            proxy.kill()
    finally:
        upstream.kill()
    first, second = sessions.load(out)
    assert [s.op for s in first.steps] == ["connect", "read", "send", "read", "shutdown",
                                           "read", "close"]
    assert first.steps[2].data == bytes(range(256)) and first.steps[3].count == 256
    assert first.steps[5].until_close
    assert [s.op for s in second.steps if s.op != "pause"] == ["connect", "read", "send",
                                                              "read", "reset"]
    assert json.loads(out.read_text())["sessions"][0]["steps"][2]["data"]["base64"]

    same = run(python_module("wireproof", "diff", "--primary", mutant("echo"),
                             "--candidate", mutant("echo"), "--sessions", str(out)),
               timeout=120)
    assert same.returncode == 0, same.stdout.decode()
    changed = run(python_module("wireproof", "diff", "--primary", mutant("echo"),
                                "--candidate", mutant("upper"), "--sessions", str(out)),
                  timeout=120)
    assert changed.returncode == 1, changed.stdout.decode()
    assert b"expected b'going\\n', observed b'GOING\\n'" in changed.stdout


def test_record_refuses_an_address_it_cannot_listen_on(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run(python_module("wireproof", "record", "--listen", f"127.0.0.1:{port}",
                                   "--upstream", "127.0.0.1:1", "--out",
                                   str(tmp_path / "x.json")))
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"wireproof: cannot listen on 127.0.0.1:{port}")
