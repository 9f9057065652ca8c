"""Real Python 2 socket programs, unchanged, on Python 3: the same bytes as under 2.7.

Each program of ``tests/py2_corpus/manifest.json`` runs twice, under Python
2.7 and through ``compat.run --interpreter py3``, both with ``--port 0`` and
the same scripted conversation; the oracle is the 2.7 run, never this code.
Compared after normalising what differs between any two runs (ports, pids,
object addresses): the bytes the program sent us, its standard output and
its standard error.  Kinds of program:

- ``server``: we connect (TCP) or send datagrams (UDP) as ``talk`` says, then
  wait until it is idle again (every thread asleep in a network wait, its
  output drained) and stop it; a step with ``shut`` shuts down our sending
  side after it;
- ``client``: we are its peer (``echo``; ``sink``; ``reply``, which answers
  its first read and then shuts down its sending side, reading on; or
  ``answer``, which answers once the client has shut down its own) and it
  runs to its end;
- ``self``: it is server and client at once and runs to its end.

Every program gets ``stdin`` of the manifest (none by default) on its
standard input, then end of file.

A program that still differs is marked ``differs`` in the manifest with the
reason: an expected failure, strict, so a fix shows.  The runs take the
program's own directory as their working directory (some read a data file
beside them), which :class:`tests.procs.Proc` does not offer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from compat.run import find_python2
from tests.conftest import require
from tests.procs import REPO
from wireproof.procs import WAIT, asleep

CORPUS = REPO / "tests" / "py2_corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
PROGRAMS = {program["id"]: program for program in MANIFEST["programs"]}
LISTENING = re.compile(rb"^listening on [^:]+:(\d+)\n", re.MULTILINE)


def _bytes(text: str) -> bytes:
    """Text of the manifest as the bytes it names: one code point per byte."""
    return text.encode("latin-1")


class Run:
    """One program, started through compat.run, its output gathered as it comes."""

    def __init__(self, program: dict[str, Any], interpreter: str, port: int = 0) -> None:
        script = CORPUS / program["path"]
        argv = [sys.executable, "-m", "compat.run", str(script), "--interpreter", interpreter,
                "--port", str(port), "--", *program.get("args", [])]
        self.popen = subprocess.Popen(
            argv, cwd=script.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert self.popen.stdin is not None
        with self.popen.stdin, contextlib.suppress(BrokenPipeError):
            self.popen.stdin.write(_bytes(program.get("stdin", "")))
        self.out = {"stdout": bytearray(), "stderr": bytearray()}
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True)
                         for name in self.out]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        stream = getattr(self.popen, name)
        while chunk := stream.read1(65536):
            with self._changed:
                self.out[name] += chunk
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def port(self) -> int:
        """The port of the launcher's ``listening on HOST:PORT`` line, which
        follows what the script printed before it bound."""
        with self._changed:
            self._changed.wait_for(lambda: LISTENING.search(self.out["stdout"])
                                   or self.popen.poll() is not None, WAIT)
            match = LISTENING.search(bytes(self.out["stdout"]))
        assert match, f"no 'listening on' line: {self.output()}"
        return int(match[1])

    def _asleep(self) -> bool:
        """Every thread of the program waits in a network call, its pipes
        drained (or it has exited)."""
        if self.popen.poll() is not None:
            return True
        if not asleep(self.popen.pid):
            return False
        for name in self.out:
            pending = bytearray(4)
            fcntl.ioctl(getattr(self.popen, name).fileno(), termios.FIONREAD, pending)
            if int.from_bytes(pending, sys.byteorder):
                return False
        return True

    def wait_idle(self) -> None:
        deadline = time.monotonic() + WAIT
        while not self._asleep():
            assert time.monotonic() < deadline, f"never idle: {self.output()}"
            with self._changed:
                self._changed.wait(0.01)

    def finish(self, stop: bool) -> int | None:
        if stop and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            status = self.popen.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(WAIT)
            raise AssertionError(f"did not finish: {self.output()}") from None
        finally:
            for reader in self._readers:
                reader.join(WAIT)
        return status

    def output(self) -> dict[str, bytes]:
        with self._changed:
            return {name: bytes(data) for name, data in self.out.items()}


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def talk(program: dict[str, Any], port: int, settle: Callable[[], None]) -> list[bytes]:
    """Our side of a server's conversation; what it sent us, per connection.

    ``settle()`` after each step waits until the server is idle again, so that
    when it sees what we do next never depends on how fast it ran.
    """
    received = []
    for connection in program["talk"]:
        kind = socket.SOCK_DGRAM if program.get("udp") else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.settimeout(WAIT)
            sock.connect(("127.0.0.1", port))
            got = b""
            for step in connection:
                sock.sendall(bytes.fromhex(step["send_hex"]) if "send_hex" in step
                             else _bytes(step["send"]))
                if step.get("shut"):
                    sock.shutdown(socket.SHUT_WR)
                if step["read"]:
                    got += (sock.recv(65536) if program.get("udp")
                            else _read_exactly(sock, step["read"]))
                settle()
            received.append(got)
    return received


@dataclass
class Peer:
    """The server a client program talks to: ``echo``, ``sink``, ``reply`` or ``answer``."""

    program: dict[str, Any]
    received: list[bytearray] = field(default_factory=list)

    def __post_init__(self) -> None:
        udp = self.program.get("udp")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(WAIT)
        if not udp:
            self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self._stop_r, self._stop_w = os.pipe()
        self.thread = threading.Thread(target=self._serve_udp if udp else self._serve, daemon=True)
        self.thread.start()

    def _serve_udp(self) -> None:
        """Echo every datagram until told to stop."""
        with contextlib.suppress(OSError):
            while self.sock in select.select([self.sock, self._stop_r], [], [], WAIT)[0]:
                data, address = self.sock.recvfrom(65536)
                self.received.append(bytearray(data))
                self.sock.sendto(data, address)

    def _serve(self) -> None:
        """Accept until told to stop, then take what is still queued: a client
        may connect, send and exit before an accept() here has run."""
        stopping = False
        while True:
            readable, _, _ = select.select([self.sock, self._stop_r], [], [], WAIT)
            if self.sock in readable:
                self._accept()
            elif stopping or not readable:
                return
            else:
                stopping = True
                self.sock.setblocking(False)

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        self.received.append(bytearray())
        thread = threading.Thread(target=self._handle, args=(conn, self.received[-1]))
        thread.start()
        self.threads.append(thread)

    def _handle(self, conn: socket.socket, received: bytearray) -> None:
        mode = self.program["peer"]
        with conn, contextlib.suppress(OSError):
            conn.settimeout(WAIT)
            if mode == "reply":
                received += conn.recv(65536)
                conn.sendall(_bytes(self.program["reply"]))
                conn.shutdown(socket.SHUT_WR)
            while chunk := conn.recv(65536):
                received += chunk
                if mode == "echo":
                    conn.sendall(chunk)
            if mode == "answer":
                conn.sendall(_bytes(self.program["reply"]))

    def close(self) -> list[bytes]:
        os.write(self._stop_w, b"x")
        self.thread.join(WAIT)
        self.sock.close()
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)
        for thread in self.threads:
            thread.join(WAIT)
        return [bytes(r) for r in self.received]


# Either Python prints this, or not, or part of it, when a daemon thread fails
# as the interpreter shuts down under it: a race inside the interpreter.  2.7
# says so; Python 3 stops the thread wherever it is, the last thing printed:
# after "Exception in thread " (seen on 3.13) or after a line of the
# traceback (seen on 3.10, 1 run in about 10).
SHUTDOWN_NOISE = re.compile(
    rb"Exception in thread [^\n]*\(most likely raised during interpreter shutdown\):\n"
    rb"Traceback \(most recent call last\):\n(?:  [^\n]*\n)*[^\n]*\n"
    rb"|Exception in thread [^\n]*(?:\n(?:Traceback \(most recent call last\):|  [^\n]*))*"
    rb"\n?\Z")


def normalise(data: bytes, pids: list[int], program: dict[str, Any]) -> bytes:
    """Ports, pids and object addresses as placeholders numbered by first appearance;
    2.7's shutdown race removed, and what a program's own ``races`` make 2.7
    print in some runs (the manifest's ``races`` say what and why); what a
    ``racy`` program prints as a multiset of lines or bytes (the manifest says
    why, in ``racy_why``)."""
    data = SHUTDOWN_NOISE.sub(b"", data)
    for race in program.get("races", []):
        data = re.sub(MANIFEST["races"][race]["pattern"].encode(), b"", data)
    for pid in pids:
        data = re.sub(rb"\b%d\b" % pid, b"<pid>", data)
    for pattern in program.get("normalise", []):
        data = re.sub(pattern.encode(), b"", data)
    seen: dict[bytes, bytes] = {}

    def placeholder(kind: bytes) -> Any:
        def one(match: re.Match[bytes]) -> bytes:
            return seen.setdefault(match[0], b"<%s%d>" % (kind, len(seen) + 1))
        return one

    data = re.sub(rb"0x[0-9a-fA-F]{6,}", placeholder(b"addr"), data)
    data = re.sub(rb"(?<=127\.0\.0\.1', )\d+|(?<=127\.0\.0\.1:)\d+|(?<=localhost:)\d+"
                  rb"|(?<=port )\d+", placeholder(b"port"), data)
    if program.get("racy") == "lines":
        data = b"\n".join(sorted(data.split(b"\n")))
    elif program.get("racy") == "bytes":
        data = bytes(sorted(data))
    return data


def observe(program: dict[str, Any], interpreter: str) -> dict[str, Any]:
    """One run of ``program`` on ``interpreter``: what it sent and printed, normalised."""
    if program["kind"] == "server":
        require(None if platform.machine() == "x86_64" and os.path.exists("/proc/self/syscall")
                else "telling a server is idle reads /proc/PID/syscall: x86-64 Linux only")
    peer = Peer(program) if program["kind"] == "client" else None
    run = Run(program, interpreter, peer.port if peer else 0)
    try:
        wire: list[bytes] = []
        if program["kind"] == "server":
            wire = talk(program, run.port(), run.wait_idle)
            run.wait_idle()
        status = run.finish(stop=program["kind"] == "server")
        if peer:
            wire = peer.close()
    finally:
        if run.popen.poll() is None:
            run.popen.kill()
            run.popen.wait(WAIT)
    output = run.output()
    pids = [run.popen.pid]
    return {"status": status, "wire": wire,
            **{name: normalise(data, pids, program) for name, data in output.items()}}


@pytest.fixture(scope="module")
def python2() -> Iterator[str]:
    found = find_python2()
    require(None if found else "no Python 2.7 found (set LEGACY_PYTHON)")
    assert found is not None
    yield found


def _cases() -> Iterator[Any]:
    for name, program in PROGRAMS.items():
        marks = []
        if program.get("differs"):
            marks.append(pytest.mark.xfail(reason=program["differs"], strict=True))
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", _cases())
def test_program_behaves_as_under_python27(name: str, python2: str) -> None:
    program = PROGRAMS[name]
    expected = observe(program, "py2")
    observed = observe(program, "py3")
    for what in ("status", "wire", "stdout", "stderr"):
        assert observed[what] == expected[what], (
            f"{name}: {what} differs\nExpected (Python 2.7): {expected[what]!r}\n"
            f"Observed (Python 3 through compat.run): {observed[what]!r}")


def test_a_race_of_the_program_is_removed_in_2_7s_words_only() -> None:
    # What 2.7 printed in one run of SocketServer_threaded in the README's
    # test command, its main thread having closed the socket under
    # serve_forever; and the same failure in Python 3's words, which a
    # regression of ours would print and which must stay.
    frames = (b'Exception in thread Thread-1:\nTraceback (most recent call last):\n'
              b'  File "/py/lib/python2.7/threading.py", line 801, in __bootstrap_inner\n'
              b'    self.run()\n'
              b'  File "/py/lib/python2.7/SocketServer.py", line 459, in fileno\n'
              b'    return self.socket.fileno()\n')
    program = PROGRAMS["SocketServer_threaded"]
    assert normalise(b"before\n" + frames + b"error: [Errno 9] Bad file descriptor\n\n",
                     [], program) == b"before\n"
    python3 = frames + b"OSError: [Errno 9] Bad file descriptor\n"
    assert normalise(python3, [], program) == python3
    assert normalise(frames + b"error: [Errno 9] Bad file descriptor\n\n", [],
                     PROGRAMS["socket_echo_server"]) != b""


def test_manifest_names_a_source_and_licence_for_every_file() -> None:
    listed = {CORPUS / p["path"] for p in MANIFEST["programs"]}
    on_disk = {p for p in CORPUS.rglob("*.py")}
    helpers = on_disk - listed
    # Modules a listed program imports from its own directory, and no others.
    assert {p.name for p in helpers} == {"asynchat_echo_server.py", "asynchat_echo_handler.py",
                                         "asynchat_echo_client.py"}
    for program in MANIFEST["programs"]:
        # A program's first directory names its source; its URL is that
        # repository at that commit, and the licence file sits beside it.
        source = MANIFEST["sources"][Path(program["path"]).parts[0]]
        assert program["source"].startswith(
            f"{source['repository']}/blob/{source['commit']}/"), program["id"]
        assert program["licence"] and (CORPUS / source["licence"]).is_file()
    assert len(MANIFEST["programs"]) >= 20
    assert len(MANIFEST["sources"]) >= 3
