"""The load generator: one process per worker, non-blocking sockets on one poller.

This is the Python one, which the benchmark runs where the C one
(``loadgen.c``, see ``sockbench.native``) cannot be built; the C one keeps to
what is described here.

Each worker keeps ``concurrency`` connections in flight for ``duration``
seconds, opening a new one as each finishes, then lets the ones in flight
finish without starting more.  Only connections that finish inside the window
count towards connections per second; every finished connection counts towards
latency; one unfinished after ``timeout`` is given up on and counted.  A worker
measures its own CPU time (``os.times``) so the report can show whether the
generator, not the server, was the limit.

A connection follows the conversation and ends only when the server has done
its part, so that the server's work is inside the measured time:

- greet: read the greeting until the server closes;
- chat: read the greeting, if any, in full (closing with unread data would
  send a reset, which kills some originals), send the payload, shut down the
  sending side, and wait until the server closes too.  Without that wait a
  server that sends nothing (v4_poll) would be measured by how fast the kernel
  completes handshakes, not by how fast it serves.

Traffic goes only to the address given.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sockbench.servers import cpu_seconds

READ = select.POLLIN
WRITE = select.POLLOUT

# In chat the client closes first, so each of its ports then sits in
# TIME_WAIT, and Linux lets a new connect reuse such a port only a second
# later: from one source address that capped chat near 14,000 connections/s,
# whatever the server.  Spreading the clients over several loopback source
# addresses (127.0.0.0/8 is all local on Linux) multiplies the ports; the
# destination stays the one given.  IP_BIND_ADDRESS_NO_PORT (Linux, value 24
# where Python does not name it) keeps the port chosen at connect time.
_BIND_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT",
                        24 if sys.platform.startswith("linux") else None)
SOURCES = tuple(f"127.0.0.{i}" for i in range(1, 9)) if _BIND_NO_PORT else ()


@dataclass(frozen=True)
class Job:
    """What one worker does for one measurement."""

    host: str
    port: int
    concurrency: int
    duration: float
    greeting: int         # bytes the server sends first
    payload: bytes = b""  # chat: sent once the greeting is in; greet: b""
    timeout: float = 5.0  # a connection unfinished after this long is given up


@dataclass
class WorkerResult:
    """What one worker measured."""

    opened: int = 0                  # connections attempted
    completed: int = 0               # finished inside the window
    late: int = 0                    # finished after it, while draining
    errors: Counter[str] = field(default_factory=Counter)  # "timeout", "ECONNRESET", ...
    latencies: list[float] = field(default_factory=list)   # seconds, every finished one
    wall: float = 0.0                # seconds, the drain included
    cpu: float = 0.0                 # user + system seconds of this process meanwhile
    window_cpu: float = 0.0          # the same, inside the window only


class _Poller:
    """epoll where there is one, else poll: register, modify, forget, wait."""

    def __init__(self) -> None:
        if hasattr(select, "epoll"):
            self._epoll: select.epoll | None = select.epoll()
        else:
            self._epoll = None
            self._poll = select.poll()

    def register(self, fd: int, mask: int) -> None:
        (self._epoll or self._poll).register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        (self._epoll or self._poll).modify(fd, mask)

    def forget(self, fd: int) -> None:
        # Closing a descriptor removes it from an epoll set by itself: one
        # system call fewer per connection, where that matters most.
        if self._epoll is None:
            self._poll.unregister(fd)

    def wait(self, seconds: float) -> list[tuple[int, int]]:
        if self._epoll is not None:
            return self._epoll.poll(seconds)
        return self._poll.poll(seconds * 1000)

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()


class _Conn:
    __slots__ = ("received", "sent", "sock", "started")

    def __init__(self, sock: socket.socket, started: float) -> None:
        self.sock = sock
        self.started = started
        self.received = 0
        self.sent = False


def _error_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def run(job: Job) -> WorkerResult:
    """Run ``job`` in this process and report what happened."""
    result = WorkerResult()
    poller = _Poller()
    conns: dict[int, _Conn] = {}
    chat = bool(job.payload)
    sources = SOURCES if chat and job.host == "127.0.0.1" else ()
    cpu0 = os.times()
    start = time.perf_counter()
    deadline = start + job.duration

    def finish(fd: int, now: float, error: str | None) -> None:
        conn = conns.pop(fd)
        poller.forget(fd)
        conn.sock.close()
        if error is not None:
            result.errors[error] += 1
            return
        result.latencies.append(now - conn.started)
        if now <= deadline:
            result.completed += 1
        else:
            result.late += 1

    def open_one(now: float) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sources:
            sock.setsockopt(socket.IPPROTO_IP, _BIND_NO_PORT, 1)  # type: ignore[arg-type]
            sock.bind((sources[result.opened % len(sources)], 0))
        result.opened += 1
        code = sock.connect_ex((job.host, job.port))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            result.errors[errno.errorcode.get(code, str(code))] += 1
            return
        conns[sock.fileno()] = _Conn(sock, now)
        # A server that says nothing first (v4_poll) is talked to as soon as
        # the connection is up; every other one once its greeting is in.
        poller.register(sock.fileno(), WRITE if chat and not job.greeting else READ)

    def send(fd: int, conn: _Conn, now: float) -> None:
        try:
            conn.sock.send(job.payload)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            finish(fd, now, _error_name(exc))
            return
        conn.sent = True
        if not job.greeting:
            poller.modify(fd, READ)

    def step(fd: int, now: float) -> None:
        conn = conns[fd]
        if chat and not conn.sent and not job.greeting:
            send(fd, conn, now)
            return
        # Read until the kernel has nothing more: a greeting and the server's
        # close usually arrive together, and this saves a wait for the second.
        while True:
            try:
                data = conn.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                finish(fd, now, _error_name(exc))
                return
            if not data:
                if conn.received < job.greeting:
                    finish(fd, now, "short greeting")
                elif chat and not conn.sent:
                    finish(fd, now, "closed before the payload")
                else:
                    finish(fd, now, None)
                return
            conn.received += len(data)
            if chat and not conn.sent and conn.received >= job.greeting:
                send(fd, conn, now)
                if fd not in conns:
                    return

    def cpu_since_start() -> float:
        times = os.times()
        return (times.user - cpu0.user) + (times.system - cpu0.system)

    try:
        now = start
        next_sweep = start + 0.1
        while conns or now < deadline:
            if now >= deadline and not result.window_cpu:
                result.window_cpu = cpu_since_start()
            while len(conns) < job.concurrency and now < deadline:
                open_one(now)
                now = time.perf_counter()
            for fd, _ in poller.wait(0.05):
                step(fd, time.perf_counter())
            now = time.perf_counter()
            if now >= next_sweep:
                for fd in [fd for fd, c in conns.items() if now - c.started > job.timeout]:
                    finish(fd, now, "timeout")
                next_sweep = now + 0.1
    finally:
        for conn in conns.values():
            conn.sock.close()
        poller.close()
    result.wall = time.perf_counter() - start
    result.cpu = cpu_since_start()
    result.window_cpu = result.window_cpu or result.cpu
    return result


@dataclass(frozen=True)
class StreamJob:
    """What one worker does for one stream measurement."""

    host: str
    port: int
    connections: int
    duration: float
    greeting: int               # bytes the server sends first, read before streaming
    message: bytes = b"x" * 32
    batch: int = 2048           # messages per send() call: 64 KiB
    timeout: float = 5.0        # bound on the drain's nudge (one more conversation)
    drain: float = 30.0         # bound on the wait for the server to read it all
    # Bound on opening every connection, greetings read, all together.  Not
    # measured time, so not a conversation's timeout: a server that a loaded
    # machine has not run for a while must not lose a connection here.
    setup: float = 15.0
    server_pid: int | None = None  # watched for progress while draining


@dataclass
class StreamResult:
    """What one stream worker measured."""

    sent: int = 0        # bytes sent on connections the server then closed
    connections: int = 0  # connections streamed on and closed by the server
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # first send to the server's last close
    cpu: float = 0.0      # user + system seconds of this process meanwhile


# A bounded client send buffer keeps the bytes in flight, and so the drain
# after the window, short: the rate must be the server's, not the kernel's
# buffering.  Smaller buffers starved even the fastest servers here.
STREAM_SNDBUF = 128 * 1024


# Seconds without progress after which a drain ends.
STREAM_QUIET = 1.0


def _poke(job: StreamJob) -> None:
    """One whole conversation more: connect, read the greeting, close."""
    with contextlib.suppress(OSError):  # only a nudge: the drain's bound still holds
        _connect_and_greet(job, job.timeout).close()


def _work(job: StreamJob, socks: Iterable[socket.socket]) -> tuple[float | None, int | None]:
    """Signs of the server still at work: its CPU time, and the bytes still
    queued on this side (Linux's TIOCOUTQ); either is None where unknown."""
    cpu = cpu_seconds(job.server_pid) if job.server_pid is not None else None
    if not hasattr(termios, "TIOCOUTQ"):
        return cpu, None
    queued = 0
    for sock in socks:
        queued += struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0]
    return cpu, queued


def _connect_and_greet(job: StreamJob, bound: float) -> socket.socket:
    """A connection with its greeting read, within ``bound`` seconds
    (``TimeoutError`` past it)."""
    deadline = time.monotonic() + bound
    sock = socket.create_connection((job.host, job.port), timeout=bound)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        received = 0
        while received < job.greeting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no greeting in time")
            sock.settimeout(left)
            data = sock.recv(job.greeting - received)
            if not data:
                raise ConnectionResetError(errno.ECONNRESET, "closed before the greeting")
            received += len(data)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def stream(job: StreamJob) -> StreamResult:
    """Keep ``job.connections`` connections sending messages for ``job.duration``.

    Then each connection shuts down its sending side and waits for the server
    to close: a server closes only once it has read everything, so the time
    from the first send to the last close is the time the server took to
    consume every byte sent, however much the kernel had buffered.
    Connections are opened one at a time, greeting read, so that a listen
    backlog of 5 is never overrun, all within ``job.setup``.
    """
    result = StreamResult()
    socks: dict[int, socket.socket] = {}
    sent: dict[int, int] = {}
    poller = _Poller()
    chunk = job.message * job.batch
    cpu0 = os.times()
    try:
        setup_deadline = time.monotonic() + job.setup
        for _ in range(job.connections):
            try:
                sock = _connect_and_greet(job, max(setup_deadline - time.monotonic(), 0.001))
            except OSError as exc:
                result.errors[_error_name(exc) if exc.errno else "timeout"] += 1
                continue
            socks[sock.fileno()] = sock
            sent[sock.fileno()] = 0
            poller.register(sock.fileno(), WRITE)
        start = time.perf_counter()
        deadline = start + job.duration
        while socks and time.perf_counter() < deadline:
            for fd, _ in poller.wait(0.05):
                try:
                    sent[fd] += socks[fd].send(chunk)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as exc:
                    result.errors[_error_name(exc)] += 1
                    poller.forget(fd)
                    socks.pop(fd).close()
        for fd, sock in list(socks.items()):
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                result.errors[_error_name(exc)] += 1
                poller.forget(fd)
                socks.pop(fd).close()
                continue
            poller.modify(fd, READ)
        last_close = start
        # The drain lasts while the server makes progress: connections close,
        # its CPU time grows, or the bytes still queued on this side shrink as
        # it reads.  The originals leave their last closed connections open
        # until another event comes (unclosed-last-conn); without progress for
        # a while, no more closes are coming.
        drain_deadline = time.perf_counter() + job.drain
        progress = time.perf_counter()
        working = _work(job, socks.values())
        poked = False
        while socks and time.perf_counter() < drain_deadline:
            now = time.perf_counter()
            if now - progress > STREAM_QUIET:
                still = _work(job, socks.values())
                if still == working and poked:
                    break
                if still == working:
                    # An original keeps the sockets of its last wake-up open
                    # until the next event (unclosed-last-conn): give it one.
                    _poke(job)
                    poked = True
                progress, working = now, still
            closed = False
            for fd, _ in poller.wait(0.05):
                try:
                    data = socks[fd].recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    result.errors[_error_name(exc)] += 1
                    data = None
                if data:
                    continue  # nothing is expected after the greeting; ignored
                if data is not None:
                    last_close = progress = time.perf_counter()
                    closed = True
                    result.sent += sent[fd]
                    result.connections += 1
                poller.forget(fd)
                socks.pop(fd).close()
            if closed:
                # Once per batch of closes, after their times are taken: a
                # look at /proc costs about a millisecond.
                working = _work(job, socks.values())
        # A connection the server never closed: its bytes are not known to
        # have been read, so they are not counted.
        result.errors.update({"not closed by the server": len(socks)} if socks else {})
        result.seconds = last_close - start
    finally:
        for sock in socks.values():
            sock.close()
        poller.close()
    times = os.times()
    result.cpu = (times.user - cpu0.user) + (times.system - cpu0.system)
    return result
