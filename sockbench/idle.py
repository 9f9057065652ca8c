"""Idle connections, held open against a server while something else is measured.

The idle-scaling scenario asks what N connections that do nothing cost a
server: in its chat latency, in its CPU while nothing happens, and in memory.
This module opens them (at most a few handshakes in flight, so that a listen
backlog of 5 is never overrun), reads each greeting so that the server has
done its part, and can tell afterwards how many the server has closed.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from types import TracebackType

# Handshakes in flight at once: below the originals' listen backlog of 5.
IN_FLIGHT = 4


class IdleConnections:
    """Connections to ``host:port`` that, once their greeting is read, stay idle."""

    def __init__(self, host: str, port: int, greeting: int) -> None:
        self.host = host
        self.port = port
        self.greeting = greeting
        self.held: list[socket.socket] = []

    def __len__(self) -> int:
        return len(self.held)

    def grow(self, count: int, timeout: float) -> str | None:
        """Hold ``count`` connections in all; None, or why that failed within ``timeout``.

        A connection counts once its handshake is done and its greeting, if
        the conversation has one, is read in full; one the server closes
        meanwhile (a limit, FD_SETSIZE) or never greets ends the attempt.
        """
        deadline = time.monotonic() + timeout
        pending: dict[int, tuple[socket.socket, int]] = {}  # fd: (socket, bytes read)
        poller = select.poll()
        try:
            while len(self.held) + len(pending) < count or pending:
                while len(pending) < IN_FLIGHT and len(self.held) + len(pending) < count:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    code = sock.connect_ex((self.host, self.port))
                    if code not in (0, errno.EINPROGRESS):
                        sock.close()
                        return (f"connection {len(self.held) + 1} failed: "
                                f"{errno.errorcode.get(code, code)}")
                    pending[sock.fileno()] = (sock, 0)
                    poller.register(sock, select.POLLOUT if not self.greeting else select.POLLIN)
                left = deadline - time.monotonic()
                if left <= 0:
                    return (f"held {len(self.held)} of {count} connections after {timeout:.3g} s"
                            + (" (greetings too slow or stopped)" if self.greeting else ""))
                for fd, _ in poller.poll(min(left, 0.1) * 1000):
                    sock, got = pending[fd]
                    if not self.greeting:
                        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if code:
                            return (f"connection {len(self.held) + 1} failed: "
                                    f"{errno.errorcode.get(code, code)}")
                    else:
                        try:
                            data = sock.recv(self.greeting - got)
                        except BlockingIOError:
                            continue
                        except OSError as exc:
                            return f"connection {len(self.held) + 1} failed: {exc.strerror}"
                        if not data:
                            return (f"the server closed connection {len(self.held) + 1} "
                                    "at once (a connection limit?)")
                        got += len(data)
                        if got < self.greeting:
                            pending[fd] = (sock, got)
                            continue
                    poller.unregister(fd)
                    del pending[fd]
                    self.held.append(sock)
            return None
        finally:
            for sock, _ in pending.values():
                sock.close()

    def closed_by_server(self) -> int:
        """How many held connections the server has closed or reset (nothing is
        sent on them, so anything readable is an end)."""
        poller = select.poll()
        for sock in self.held:
            poller.register(sock, select.POLLIN)
        return len(poller.poll(0))

    def close(self) -> None:
        for sock in self.held:
            sock.close()
        self.held.clear()

    def __enter__(self) -> IdleConnections:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
