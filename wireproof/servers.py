"""The servers ``diff`` compares: an address already listening, or a command
it starts itself.

A command is one string, split as a shell would (``shlex``), in which
``{port}`` stands for the port: the tool picks a free one, starts the
command, and waits until the port accepts connections — seen in the kernel's
table of listening sockets (``/proc/net/tcp``), not by connecting, because a
probe connection that closes unread is a reset, and some originals die of
one.  (Without ``/proc``, it connects.)  It stops what it started, by PID:
SIGTERM, then SIGKILL if that is not enough.
"""

from __future__ import annotations

import re
import shlex
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from wireproof.events import Address
from wireproof.procs import WAIT, Proc

ADDRESS = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^\s:\[\]]+)):(?P<port>\d+)$")
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
# How long a server may take to listen: an original under Python 2.7 on a
# busy machine takes seconds.
STARTUP = 2 * WAIT


class ServerError(Exception):
    """A server that could not be started or reached; the message is one line."""


@dataclass(frozen=True)
class Spec:
    """``HOST:PORT`` or a command with ``{port}``, as given."""

    text: str

    @property
    def address(self) -> Address | None:
        match = ADDRESS.match(self.text.strip())
        if not match:
            return None
        return (match["v6"] or match["v4"]), int(match["port"])

    def check(self, role: str) -> None:
        if self.address is None and "{port}" not in self.text:
            raise ServerError(f"--{role} {self.text!r} is neither HOST:PORT nor a command "
                              "with {port} in it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool | None:
    """Whether the kernel has a socket listening on ``port``; None without /proc."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == LISTEN:
                return True
    return False


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Started:
    """A server the tool started: its process, and where it listens."""

    def __init__(self, role: str, spec: Spec) -> None:
        self.role = role
        port = free_port()
        self.argv = shlex.split(spec.text.replace("{port}", str(port)))
        self.address: Address = ("127.0.0.1", port)
        try:
            self.proc = Proc(self.argv)
        except OSError as exc:
            raise ServerError(f"the {role} server did not start: {self.argv[0]}: "
                              f"{exc.strerror}") from None

    def ready(self) -> None:
        """Wait until the port accepts connections; ServerError if the server
        exits first or takes longer than STARTUP (then it is stopped)."""
        port = self.address[1]
        deadline = time.monotonic() + STARTUP
        while True:
            ready = _listening(port)
            if ready is None:
                ready = _accepts(port)
            if ready:
                return
            if not self.proc.alive() or time.monotonic() > deadline:
                status = self.proc.wait(0.5) if not self.proc.alive() else None
                self.stop()
                last = (self.proc.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
                why = (f"exited with status {status}" if status is not None
                       else f"not listening on port {port} after {STARTUP:g} s")
                raise ServerError(f"the {self.role} server did not start ({why}): {last}")
            self.proc.wait_until(lambda: not self.proc.alive(), 0.02)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.stop(signal.SIGTERM, 5.0) is None:
            self.proc.kill()
