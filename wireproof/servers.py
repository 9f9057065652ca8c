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

from wireproof.events import Address
from wireproof.procs import WAIT, Proc, listen_queues

ADDRESS = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^\s:\[\]]+)):(?P<port>\d+)$")
# How long a server may take to listen: an original under Python 2.7 on a
# busy machine takes seconds.
STARTUP = 2 * WAIT
# How long a server may stay busy after a session before the next begins: a
# server that never sleeps (a spinning loop) costs this per session.
SETTLE = 1.0


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
    queues = listen_queues(port)
    return None if queues is None else bool(queues)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Started:
    """A server the tool started: its process, and where it listens.

    A server that exits (one session killed it) is started again, on a new
    port, by :meth:`restart`: each session then meets a running server, and
    one that kills the original shows only where it does.
    """

    def __init__(self, role: str, spec: Spec) -> None:
        self.role = role
        self.spec = spec
        self.procs: list[Proc] = []
        self.suspended = False
        self._start()

    def _start(self) -> None:
        port = free_port()
        self.argv = shlex.split(self.spec.text.replace("{port}", str(port)))
        self.address: Address = ("127.0.0.1", port)
        try:
            self.proc = Proc(self.argv)
        except OSError as exc:
            raise ServerError(f"the {self.role} server did not start: {self.argv[0]}: "
                              f"{exc.strerror}") from None
        self.procs.append(self.proc)

    def restart(self) -> None:
        """Start the command again, on a new port (then wait with ``ready``)."""
        self._start()

    def control(self, op: str) -> str:
        """A session's ``suspend`` or ``resume`` step on this server's process."""
        if not self.proc.alive():
            return "not done: the server had exited"
        self.suspended = op == "suspend"
        self.proc.popen.send_signal(signal.SIGSTOP if self.suspended else signal.SIGCONT)
        return "ok"

    def settle(self) -> None:
        """After a session: resumed if still suspended, then given until it
        sleeps in a wait again (or exits), at most SETTLE seconds, so that
        whether it survived the session is seen after this session and not
        during the next."""
        if self.suspended:
            self.control("resume")
        deadline = time.monotonic() + SETTLE
        while self.proc.asleep() is False and time.monotonic() < deadline:
            self.proc.wait_until(lambda: not self.proc.alive(), 0.005)

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
        if self.suspended and self.proc.alive():
            # A stopped process handles SIGTERM only once continued.
            self.proc.popen.send_signal(signal.SIGCONT)
        if self.proc.stop(signal.SIGTERM, 5.0) is None:
            self.proc.kill()
