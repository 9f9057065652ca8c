"""One run of one contract case against one running implementation.

A :class:`Session` starts the server (or points at a ``--target``), opens
client connections, waits for the server's events, and records a transcript of
everything that crossed: bytes each way and event lines.  A broken promise
raises :class:`ContractFailure` with Expected and Observed.
"""

from __future__ import annotations

import contextlib
import errno
import math
import random
import select
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modern.common import format_address
from wireproof.events import Address, Event, parse_legacy, parse_modern, printed_matches
from wireproof.implementation import Implementation
from wireproof.originals import CONVERSATIONS
from wireproof.procs import WAIT, Proc, SocketQueues, doing, listen_queues

# Runs a command with RLIMIT_NOFILE set to argv[1]: python -c LIMIT_NOFILE N CMD...
LIMIT_NOFILE = ("import os, resource, sys; n = int(sys.argv[1]); "
                "resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); "
                "os.execvp(sys.argv[2], sys.argv[2:])")


# How long a wait for events may go without a new output line from the server,
# and the longest it may take while the server keeps printing.
SILENCE = WAIT
PROGRESS_CAP = 8 * WAIT
# How many connections a stalled wait describes (load cases hold a thousand).
STALL_CONNECTIONS = 10


class ContractFailure(AssertionError):
    """A case's expectation that an implementation did not meet."""

    def __init__(self, what: str, expected: object, observed: object) -> None:
        self.what, self.expected, self.observed = what, expected, observed
        super().__init__(f"{what}\n  Expected: {expected}\n  Observed: {observed}")


class ConnectFailure(ContractFailure):
    """The server did not take a connection at all."""

    def __init__(self, error: OSError) -> None:
        self.error = error
        super().__init__("the server accepts the connection", "a connection",
                         f"connect failed: {error}")


def show(data: bytes, limit: int = 80) -> str:
    """Bytes for a transcript: the repr, shortened past ``limit`` bytes."""
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data)} bytes)"


def show_event(event: Event, limit: int = 160) -> str:
    """An event line for a transcript, shortened past ``limit`` characters."""
    text = str(event)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has something to read (or has closed) within ``timeout``.

    poll(), not select(): this process holds over a thousand sockets in
    load.fd_setsize, and select() cannot watch a descriptor past 1023.
    """
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(max(0, math.ceil(timeout * 1000))))


def _ephemeral_low() -> int:
    """Where the kernel's range of ephemeral ports starts (Linux; 32768, its
    default, elsewhere: macOS and Windows start higher still)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# The ports the harness's connections come from: below the ephemeral range,
# so that no port the kernel hands out (to a bind to port 0, to a connect)
# is one of them.  A server told a free port by ``{port}`` (wireproof diff,
# an original that takes --port) then cannot find it taken by one of them.
_EPHEMERAL_LOW = _ephemeral_low()
CLIENT_PORTS = range(max(1024, _EPHEMERAL_LOW - 16384), max(2048, _EPHEMERAL_LOW))


class LocalPorts:
    """The local ports of one session's connections: each a new one.

    A reset frees its port at once (SO_LINGER 0 leaves no TIME_WAIT), and the
    kernel may hand it to a later connection: in load.reset_storm, storm155
    came from storm15's port, and the events of one address were two
    connections'.  So each socket is bound, before it connects, to the next
    port of CLIENT_PORTS this session has not used and nobody holds.

    Ports a connection closed first stay in TIME_WAIT for a minute, and a
    suite under load closes more than CLIENT_PORTS holds in a minute: CI ran
    out of them.  So every socket binds with SO_REUSEADDR, which lets it take
    a port whose earlier connections (ours, all with SO_REUSEADDR) are done or
    go elsewhere; a socket without it (a listener, someone else's) still keeps
    its port.  Where a TIME_WAIT is to the very address it connects to, the
    connect fails (EADDRNOTAVAIL) and ``connect_from`` takes the next port,
    as the kernel's own choice of a port skips such a pair.
    """

    def __init__(self) -> None:
        self.used: set[int] = set()
        self._next = random.randrange(len(CLIENT_PORTS))

    def bind(self, sock: socket.socket) -> None:
        anywhere = "::" if sock.family == socket.AF_INET6 else "0.0.0.0"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(len(CLIENT_PORTS)):
            port = CLIENT_PORTS[self._next % len(CLIENT_PORTS)]
            self._next += 1
            if port in self.used:
                continue
            try:
                sock.bind((anywhere, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue  # someone else's, or in TIME_WAIT
                raise
            self.used.add(port)
            return
        raise OSError(errno.EADDRNOTAVAIL, "every local port below the ephemeral range is taken")


def connect_from(ports: LocalPorts, host: str, port: int) -> socket.socket:
    """A connection to ``host``:``port`` from a new port of ``ports``; each of
    the host's addresses in turn, as ``socket.create_connection`` tries them."""
    error: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port,
                                                              type=socket.SOCK_STREAM):
        for _ in range(len(CLIENT_PORTS)):
            sock = socket.socket(family, kind, proto)
            try:
                ports.bind(sock)
            except OSError as exc:
                sock.close()
                error = exc
                break
            try:
                sock.settimeout(WAIT)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                error = exc
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue  # this pair is in TIME_WAIT: the next port
                break
            return sock
    raise error or OSError(f"no address for {host}")


class Conn:
    """A client connection that records what it sends and receives."""

    def __init__(self, session: Session, label: str) -> None:
        self.session, self.label = session, label
        self.sock = connect_from(session.ports, session.host, session.port)
        self.address: Address = self.sock.getsockname()[:2]
        self.first_event = len(session.events()) if session.has_events else 0
        session.note(f"{label} connected from {format_address(self.address)}")
        session.conns.append(self)

    @contextlib.contextmanager
    def _io(self, what: str, expected: str) -> Iterator[None]:
        """Turn the socket's ``OSError`` into a verdict: a peer that resets or
        vanishes is something the case observed, never a crash of the harness."""
        try:
            yield
        except TimeoutError:
            raise
        except OSError as exc:
            self.session.note(f"{self.label} {what} failed: {exc}")
            raise ContractFailure(f"{self.label} {what}", expected,
                                  f"{type(exc).__name__}: {exc}") from None

    def send(self, data: bytes) -> None:
        with self._io(f"sends {show(data, 40)}", "the server takes the bytes"):
            self.sock.sendall(data)
        self.session.note(f"{self.label} -> {show(data)}")

    def shutdown_write(self) -> None:
        with self._io("shuts down its sending side", "a connection to shut down"):
            self.sock.shutdown(socket.SHUT_WR)
        self.session.note(f"{self.label} shut down its sending side")

    def reset(self) -> None:
        """Close with SO_LINGER 0: the peer gets a RST, not a FIN."""
        with self._io("resets the connection", "a connection to reset"):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        self.session.note(f"{self.label} reset the connection")

    def close(self) -> None:
        with self._io("closes", "a connection to close"):
            self.sock.close()
        self.session.note(f"{self.label} closed")

    def wait_readable(self) -> None:
        """Wait until the server has sent something (or closed), reading nothing."""
        with self._io("waits for the server", "something to read"):
            ready = readable(self.sock, WAIT)
        if not ready:
            raise ContractFailure("the server sends or closes", "something to read",
                                  f"nothing after {WAIT:g} s")

    def _recv(self, size: int, deadline: float) -> bytes:
        """At most ``size`` bytes; b"" on close or reset.  TimeoutError past
        ``deadline``; any other socket error is a ContractFailure."""
        with self._io("receives", "bytes or a close"):
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                return self.sock.recv(size)
            except ConnectionResetError:
                self.session.note(f"{self.label} <- connection reset")
                return b""

    def served_or_refused(self, served: Callable[[], bool]) -> bool:
        """Wait until ``served()`` or the server closes this connection (a
        refusal); True if served.  Bounded by WAIT."""
        deadline = time.monotonic() + WAIT
        while not served():
            if time.monotonic() > deadline:
                raise ContractFailure("the server serves or refuses the connection",
                                      "one or the other", f"neither within {WAIT:g} s")
            with self._io("waits to be served", "served or refused"):
                ready = readable(self.sock, 0.05)
            if ready and not self._recv(1, deadline):
                self.session.note(f"{self.label} <- close: refused")
                return False
        return True

    def recv_exactly(self, size: int, what: str, refused_ok: bool = False) -> bytes:
        """``size`` bytes; a ContractFailure on early close or timeout, unless
        ``refused_ok`` and the server closed before sending anything."""
        deadline = time.monotonic() + WAIT
        data = b""
        while len(data) < size:
            try:
                chunk = self._recv(size - len(data), deadline)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        self.session.note(f"{self.label} <- {show(data)}")
        if refused_ok and not data and time.monotonic() < deadline:
            return data
        if len(data) < size:
            raise ContractFailure(what, f"{size} bytes", f"{show(data)} then "
                                  + ("nothing more" if time.monotonic() >= deadline else "close"))
        return data

    def read_until_close(self, what: str, timeout: float = WAIT) -> bytes:
        """Everything until the server closes; a ContractFailure if it does not
        within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        data = b""
        while True:
            try:
                chunk = self._recv(65536, deadline)
            except TimeoutError:
                self.session.note(f"{self.label} <- {show(data)}, no close")
                raise ContractFailure(what, "the server closes the connection",
                                      f"still open after {timeout:g} s, having sent "
                                      f"{show(data)}") from None
            if not chunk:
                self.session.note(f"{self.label} <- {show(data)} then close")
                return data
            data += chunk


class Session:
    """The implementation under test, running, and what happened to it."""

    def __init__(self, impl: Implementation, target: Address | None = None,
                 nofile: int | None = None) -> None:
        self.impl = impl
        self.conversation = CONVERSATIONS[impl.like]
        self.transcript: list[str] = []
        self.started = time.monotonic()
        self.proc: Proc | None = None
        self._parsed = 0
        self._events: list[Event] = []
        self.conns: list[Conn] = []
        self.ports = LocalPorts()   # the local ports its connections come from
        if target is not None:
            self.host, self.port = target
            return
        assert impl.argv is not None
        argv = impl.argv("127.0.0.1", 0)
        if nofile is not None:
            argv = [sys.executable, "-c", LIMIT_NOFILE, str(nofile), *argv]
        self.proc = Proc(argv)
        self.host, self.port = self.proc.listening()
        self.note(f"server pid {self.proc.pid} listening on {self.host}:{self.port}")

    # -- the record ---------------------------------------------------------

    def note(self, line: str) -> None:
        self.transcript.append(f"{time.monotonic() - self.started:7.3f}s {line}")

    @property
    def has_events(self) -> bool:
        return self.proc is not None

    def events(self) -> list[Event]:
        """Every event the server has reported so far, in order (none for a
        ``--target``, whose output we cannot see)."""
        if self.proc is None:
            return []
        lines = self.proc.lines
        while self._parsed + 1 < len(lines):
            self._parsed += 1
            line = lines[self._parsed]
            event = parse_legacy(line) if self.impl.legacy else parse_modern(line)
            if event is not None:
                self._events.append(event)
                self.note(f"event: {show_event(event)}")
        return self._events

    # -- clients ------------------------------------------------------------

    def connect(self, label: str | None = None) -> Conn:
        try:
            return Conn(self, label or f"client{len(self.conns) + 1}")
        except OSError as exc:
            raise ConnectFailure(exc) from None

    def greeted(self, conn: Conn) -> None:
        """Receive the conversation's greeting on ``conn``, byte for byte.

        A greeting conversation's server must then close; a v4 server's must
        not, which only a later exchange can prove.
        """
        greeting = self.conversation.greeting
        if self.conversation.closes:
            got = conn.read_until_close("the greeting, then the server closes")
        else:
            got = conn.recv_exactly(len(greeting), "the greeting") if greeting else b""
        if got != greeting:
            raise ContractFailure("the greeting, byte for byte", show(greeting), show(got))

    def serves_another(self) -> None:
        """A new client still gets the whole conversation: the server survived."""
        self.note("-- a new client, to show the server still serves")
        conn = self.connect()
        self.greeted(conn)
        if not self.conversation.closes:
            conn.send(b"are you still there?")
            self.expect_received(conn, b"are you still there?")
            self.hang_up(conn)

    def hang_up(self, conn: Conn) -> None:
        """Shut down ``conn``'s sending side and wait until the server has
        noticed: its ``disconnected`` event or, with no events to read, its
        close, before which it must send nothing more (the greeting was all).
        Whether it closes its own side is chat.half_close's business."""
        conn.shutdown_write()
        if self.has_events:
            self.expect_event("disconnected", conn)
        elif rest := conn.read_until_close("the server closes after the peer does"):
            raise ContractFailure("nothing after the greeting", "nothing", show(rest))

    # -- events ---------------------------------------------------------------

    def wait_events(self, ready: Callable[[list[Event]], Any], what: str,
                    expected: object) -> Any:
        """Wait until ``ready(events)`` is true; its value, or a ContractFailure.

        The bound is on silence, not on the whole wait: WAIT seconds with no
        new output line fails, as does PROGRESS_CAP in all.  A server that is
        still reporting a 16 MiB payload or a thousand connections on a busy
        machine is making progress; one that has stopped is not.
        """
        if self.proc is None:
            return None
        proc = self.proc
        result: list[Any] = []

        def check() -> bool:
            result[:] = [ready(self.events())]
            return bool(result[0]) or not proc.alive()

        cap = time.monotonic() + PROGRESS_CAP
        while True:
            seen = len(proc.lines)
            if proc.wait_until(check, SILENCE):
                break
            # Said in the transcript: its last lines are stamped when they
            # were read, which can be long before the wait gave up.
            if len(proc.lines) == seen:
                self.note(f"no new output line for {SILENCE:g} s "
                          f"({len(proc.lines)} lines in all): waited long enough")
                self.note_stall()
                break
            if time.monotonic() > cap:
                self.note(f"still making progress after {PROGRESS_CAP:g} s in all: "
                          "waited long enough")
                break
        if not result or not result[0]:
            result[:] = [ready(self.events())]
        if not result[0]:
            observed = [show_event(e) for e in self._events[-10:]]
            status = "" if proc.alive() else f"; the server exited with status {proc.wait()}"
            raise ContractFailure(what, expected, f"events {observed}{status}")
        return result[0]

    def note_stall(self) -> None:
        """What the server and each connection are doing, from /proc: where a
        silent server waits, and what is queued between it and its clients."""
        if self.proc is None:
            return
        self.note(f"server pid {self.proc.pid}: {doing(self.proc.pid) or 'gone'}")
        queues, server = SocketQueues(), (self.host, self.port)
        for conn in self.conns[:STALL_CONNECTIONS]:
            ours, theirs = queues[conn.address, server], queues[server, conn.address]
            if ours is not None and theirs is not None:
                self.note(f"{conn.label}: {ours[0]} bytes sent, not yet acknowledged; "
                          f"{theirs[1]} in the server's receive queue, not yet read")

    def wait_accept_queue_drained(self) -> None:
        """Wait until no connection waits in the server's accept queue: it has
        taken in, refused or turned away every one.  The bound is on progress,
        as in wait_events: WAIT seconds without the queue getting shorter ends
        the wait (a server that has stopped accepting for good), and so does
        PROGRESS_CAP in all; what follows then judges the server as it is."""
        queue, proc = listen_queues(self.port), self.proc
        if queue is None or proc is None:
            return  # no /proc, or a server not started here: nothing to wait on
        waiting = sum(queue)
        self.note(f"{waiting} connections in the accept queue")
        cap = time.monotonic() + PROGRESS_CAP
        progress = time.monotonic() + WAIT
        while waiting and proc.alive() and time.monotonic() < min(cap, progress):
            proc.wait_until(lambda: not proc.alive(), 0.02)
            now = sum(listen_queues(self.port) or [])
            if now < waiting:
                progress = time.monotonic() + WAIT
            waiting = now
        self.note(f"{waiting} connections left in the accept queue")

    def _matches(self, event: Event, kind: str, conn: Conn | None) -> bool:
        if event.kind != kind:
            return False
        if conn is None or (event.address is None and kind == "received"):
            return True
        return event.address == conn.address

    def expect_event(self, kind: str, conn: Conn | None = None) -> None:
        """Wait for a ``kind`` event about ``conn`` (any connection if None)."""
        where = f" {format_address(conn.address)}" if conn else ""
        scanned = 0

        def ready(events: list[Event]) -> bool:
            # Only the events since the last look: this runs at every line,
            # under the lock the output reader needs, and an original that
            # prints 16 MiB raw prints tens of thousands of lines.
            nonlocal scanned
            new = events[scanned:]
            scanned = len(events)
            return any(self._matches(e, kind, conn) for e in new)

        self.wait_events(ready, f"a '{kind}' event", f"'{kind}{where}'")

    def received_by(self, conn: Conn | None) -> list[Event]:
        """The ``received`` events for ``conn``, or for everyone if None.

        A legacy server names nobody in its data lines: for it, the data
        reported since ``conn`` connected.
        """
        events = self.events()
        if conn is not None and self.impl.legacy:
            events = events[conn.first_event:]
        return [e for e in events if self._matches(e, "received", conn)]

    def expect_received(self, conn: Conn, data: bytes) -> None:
        """Wait until the events for ``conn`` carry ``data`` in full, in order."""
        legacy = self.impl.legacy
        self.wait_events(lambda _: printed_matches(data, self.received_by(conn), legacy),
                         f"'received' events carrying {show(data, 40)}",
                         f"the {len(data)} bytes sent, in order")

    def forget(self) -> None:
        """Close every client and forget the events seen so far: the next
        conversation on the same server starts with a clean record."""
        self.events()
        for conn in self.conns:
            conn.sock.close()
        self.conns.clear()
        self._events.clear()

    # -- the end --------------------------------------------------------------

    def still_serving(self) -> None:
        """The server is alive and, if modern, printed nothing it should not."""
        if self.proc is None:
            return
        self.events()
        if not self.proc.alive():
            raise ContractFailure("the server keeps running", "running",
                                  f"exited with status {self.proc.wait()}; stderr ends "
                                  f"{self.proc.stderr[-300:]!r}")
        if not self.impl.legacy:
            unparsed = [str(e) for e in self._events if e.kind == "unparsed"]
            if unparsed:
                raise ContractFailure("every output line is an event line", "event lines",
                                      unparsed[:5])
            if "Traceback" in self.proc.stderr:
                raise ContractFailure("no traceback on standard error", "none",
                                      self.proc.stderr[-1000:])

    def close(self) -> str:
        """Close every client, stop the server; its standard error, for the report."""
        for conn in self.conns:
            conn.sock.close()
        if self.proc is None:
            return ""
        self.proc.kill()
        return self.proc.stderr
