"""``wireproof record``: real traffic through a transparent proxy becomes
sessions that ``diff --sessions`` replays, byte for byte."""

from __future__ import annotations

import base64
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
    # A pause wherever the client took a millisecond or more before it sent.
    steps = [s for s in first.steps if s.op != "pause"]
    assert [s.op for s in steps] == ["connect", "read", "send", "read", "shutdown", "read",
                                     "close"]
    assert steps[2].data == bytes(range(256)) and steps[3].count == 256
    assert steps[5].until_close
    assert [s.op for s in second.steps if s.op != "pause"] == ["connect", "read", "send",
                                                              "read", "reset"]
    written = [step for step in json.loads(out.read_text())["sessions"][0]["steps"]
               if step["op"] == "send"]
    # Not UTF-8, so base64.
    assert written == [{"op": "send",
                        "data": {"base64": base64.b64encode(bytes(range(256))).decode()}}]

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


# A client that sends a line and closes without waiting for the server to.
CLIENT = ("import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); "
          "s.settimeout(5); assert s.recv(6) == b'hello\\n'; s.sendall(b'hi\\n'); "
          "assert s.recv(3) == b'hi\\n'; s.shutdown(socket.SHUT_WR)")


def test_record_runs_the_client_and_keeps_a_connection_the_server_never_closed(
        tmp_path: Path) -> None:
    out = tmp_path / "recorded.json"
    # The no-close mutant never closes after its client: only the client's
    # exit can end the recording.
    upstream = Proc([sys.executable, "tests/wireproof_mutant.py", "no-close", "--port", "0"])
    try:
        host, port = upstream.listening()
        result = run(python_module("wireproof", "record", "--listen", "127.0.0.1:0",
                                   "--upstream", f"{host}:{port}", "--out", str(out),
                                   "--client", f"{sys.executable} -c \"{CLIENT}\" {{port}}"),
                     timeout=60)
    finally:
        upstream.kill()
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    (session,) = sessions.load(out)
    assert [(s.op, s.data) for s in session.steps if s.op == "send"] == [("send", b"hi\n")]
    assert [s.op for s in session.steps if s.op != "pause"] == [
        "connect", "read", "send", "read", "shutdown", "close"]
