"""What every port shares: the conversations, the event lines and the command line.

Each server module reads top to bottom on its own; this module holds only the
pieces that must be identical everywhere, so that the contract suite can hold
every port to the same wire bytes and the same event lines.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import marshal
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Sequence

# Not typing itself at run time: what a forking server has imported, each
# child copies and tears down (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8889
DEFAULT_TIMEOUT = 10.0

# The originals read 1024 bytes at a time.  Chunk boundaries are not part of
# the contract (TCP has none), so a larger read costs nothing in behaviour and
# saves a wake-up per kilobyte.
RECV_SIZE = 65536

# How long a blocking send of a greeting may take before the peer is given up
# on: one peer that never reads must not stall a sequential server for ever.
SEND_TIMEOUT = 10.0


class Conversation(namedtuple("Conversation", "greeting closes")):
    """What a legacy server says on accept, and whether it then hangs up."""

    __slots__ = ()
    greeting: bytes
    closes: bool


CONVERSATIONS: dict[str, Conversation] = {
    "v1_server": Conversation(b"thx for conn", closes=True),
    "v2_socketserver": Conversation(b"thx for you connecting", closes=True),
    "v3_forking": Conversation(b"thx for you connecting", closes=True),
    "v3_threading": Conversation(b"thx for you connecting", closes=True),
    "v4_select": Conversation(b"connect to server successful", closes=False),
    "v4_poll": Conversation(b"", closes=False),
}

# The modern port of each legacy script, by the legacy script's name.
PORTS = {
    "v1_server": "blocking_server",
    "v2_socketserver": "socketserver_server",
    "v3_forking": "forking_server",
    "v3_threading": "threading_server",
    "v4_select": "select_server",
    "v4_poll": "poll_server",
    "v1_client": "greet_client",
    "v4_client": "hello_client",
}


def format_address(address: Any) -> str:
    """``HOST:PORT`` for IPv4, ``[HOST]:PORT`` for IPv6 (4-tuples included)."""
    host, port = address[0], address[1]
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


# A pipe keeps one write whole, however many processes write to it at once,
# only up to PIPE_BUF bytes (4096 on Linux; POSIX promises 512).
LINE_MAX = getattr(select, "PIPE_BUF", 512)

# Whether this process shares standard output with others, which no lock of
# its own can keep from writing at the same time: true in every forked child
# (forking_server's, --workers).
SHARED_STDOUT = False


def _forked() -> None:
    global SHARED_STDOUT
    SHARED_STDOUT = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class Events:
    """The event lines on standard output, one per line, flushed at once.

    Threads of one server share an instance; the lock keeps their lines whole,
    and a chunk is one ``received`` line.  Processes sharing the pipe (see
    :data:`SHARED_STDOUT`) cannot share the lock, so there every line is one
    write of at most :data:`LINE_MAX` bytes, which the pipe keeps whole: a
    chunk whose ``repr`` would make a longer line is reported as several
    ``received`` lines, in order.  Chunk boundaries are not part of the
    contract (TCP has none); the bytes and their order are.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()

    def _emit(self, line: str) -> None:
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def listening(self, address: Any) -> None:
        self._emit(f"listening on {format_address(address)}")

    def connected(self, address: Any) -> None:
        if not self.quiet:
            self._emit(f"connected {format_address(address)}")

    def received(self, address: Any, data: bytes) -> None:
        if self.quiet:
            return
        prefix = f"received {format_address(address)} "
        # repr spends at most four characters on a byte (\xff), and the line
        # three more on b'' and one on the newline.
        step = max(1, (LINE_MAX - len(prefix) - 4) // 4) if SHARED_STDOUT else len(data)
        for start in range(0, len(data), step):
            self._emit(prefix + repr(data[start:start + step]))

    def disconnected(self, address: Any) -> None:
        if not self.quiet:
            self._emit(f"disconnected {format_address(address)}")


def _write_line(line: str) -> None:
    # One write per line, so that threads, and processes sharing the pipe, do
    # not interleave within it (print would write the newline apart).
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# How long a burst of one kind of diagnostic is summed up over.
BURST_INTERVAL = 1.0


class _Burst:
    __slots__ = ("reason", "silent", "started", "tally")

    def __init__(self, tally: str, reason: str, started: float) -> None:
        self.tally = tally      # "refused {count} connections", say
        self.reason = reason
        self.started = started
        self.silent = 0         # counted, not written


class Bursts:
    """Diagnostics a flood would repeat without end, written once per burst.

    The first of a kind in a quiet spell is written whole, naming its peer;
    those that follow within :data:`BURST_INTERVAL` are only counted, and at
    the end of the interval the count is one line, ``refused 168 more
    connections in the last 1.0 s: at --max-connections 32``, after which a
    new interval begins if there was any.  A flood costs a line a second; a
    lone event, one line.  A timer thread writes the counts as they fall due,
    unless the process's event loop keeps the time (:meth:`kept_by_loop`): a
    server of one thread should not start a second one to write its log.

    A process forked per connection lives too briefly to sum anything up:
    after :meth:`relay_children`, such children send their diagnostics through
    a pipe to the parent, which sums them with its own in :meth:`drain`.
    """

    def __init__(self, interval: float = BURST_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._bursts: dict[tuple[str, str], _Burst] = {}
        self._due: float | None = None           # when the next count falls due
        self._call_later: Callable[[float, Callable[[], None]], object] | None = _thread_timer
        self._from_children: int | None = None   # the pipe's read end, in the parent
        self._to_parent: int | None = None       # its write end
        self._relaying = False                   # in a child: send, do not write
        self._partial = b""
        if hasattr(os, "register_at_fork"):
            # The timer thread may be writing when another thread forks: the
            # child would inherit a held lock (ours, and stderr's).  Forking
            # waits for it, and the child starts with no burst of its own.
            os.register_at_fork(before=self._lock.acquire,
                                after_in_parent=self._lock.release,
                                after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._bursts = {}
        self._due = None
        if self._from_children is not None:
            os.close(self._from_children)
            self._from_children = None
            self._relaying = True

    @contextlib.contextmanager
    def kept_by_loop(self, call_later: Callable[[float, Callable[[], None]], object] | None = None
                     ) -> Iterator[None]:
        """While in it, the event loop writes the counts, not a timer thread.

        With ``call_later`` (an asyncio loop's), the counts are scheduled on
        it; without, the loop waits at most :meth:`due` and calls :meth:`tick`
        on every turn.  On the way out, a timer thread takes over what is due.
        """
        self._call_later = call_later
        try:
            yield
        finally:
            with self._lock:
                self._call_later = _thread_timer
                if self._due is not None:
                    self._schedule(max(0.0, self._due - time.monotonic()))

    def due(self) -> float | None:
        """Seconds until a count falls due (never less than 0); None: none is
        pending, or a timer writes them."""
        if self._due is None or self._call_later is not None:
            return None
        return max(0.0, self._due - time.monotonic())

    def tick(self) -> None:
        """Write the counts that have fallen due, if any."""
        if self._due is not None and time.monotonic() >= self._due:
            self._tick()

    def _tick(self) -> None:
        # What a timer calls: a timer may fire a little early (asyncio's by up
        # to its clock's resolution), so what is not due yet is scheduled again.
        with self._lock:
            self._due = None
            now = time.monotonic()
            for key, burst in list(self._bursts.items()):
                if burst.started + self.interval > now:
                    continue
                if burst.silent:
                    self._write_count(burst, self.interval)
                    self._bursts[key] = _Burst(burst.tally, burst.reason, now)
                else:
                    del self._bursts[key]
            if self._bursts:
                first = min(burst.started for burst in self._bursts.values())
                self._schedule(max(0.0, first + self.interval - now))

    def relay_children(self) -> None:
        """Have the processes forked from now on send their diagnostics to this
        one, to be summed up here by :meth:`drain`."""
        self._from_children, self._to_parent = os.pipe()
        # Neither end may block: the parent drains between connections, and a
        # child must not wait for a parent that is waiting for it to exit.
        os.set_blocking(self._from_children, False)
        os.set_blocking(self._to_parent, False)

    def _relayed(self, line: str, tally: str | None = None, reason: str = "") -> bool:
        """Whether ``line`` went to the parent (a child's; a line, below
        PIPE_BUF, goes whole); False: write it here (pipe full, or no parent)."""
        if not self._relaying or self._to_parent is None:
            return False
        message = marshal.dumps((line, tally, reason))
        frame = len(message).to_bytes(4, "little") + message
        if len(frame) > select.PIPE_BUF:
            return False  # it could go in pieces, among other children's
        try:
            os.write(self._to_parent, frame)
        except OSError:
            return False
        return True

    def drain(self) -> None:
        """Sum up what the children have sent so far."""
        if self._from_children is None:
            return
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._from_children, 65536):
                self._partial += chunk
        while len(self._partial) >= 4:
            end = 4 + int.from_bytes(self._partial[:4], "little")
            if len(self._partial) < end:
                break
            text, tally, reason = marshal.loads(self._partial[4:end])
            self._partial = self._partial[end:]
            if tally is None:
                self.write(text)
            else:
                self.note(text, tally, reason)

    def write(self, line: str) -> None:
        """Write ``line`` as it is, whole among the counts."""
        if self._relayed(line):
            return
        with self._lock:
            _write_line(line)

    def note(self, line: str, tally: str, reason: str) -> None:
        """Write ``line``, or count it if its kind (``tally`` and ``reason``)
        came within the interval; ``tally`` has a ``{count}`` field."""
        if self._relayed(line, tally, reason):
            return
        with self._lock:
            burst = self._bursts.get((tally, reason))
            if burst is not None:
                burst.silent += 1
                return
            self._bursts[tally, reason] = _Burst(tally, reason, time.monotonic())
            _write_line(line)
            if self._due is None:
                self._schedule(self.interval)

    def _schedule(self, delay: float) -> None:
        """The next count falls due in ``delay`` seconds (the lock is held)."""
        self._due = time.monotonic() + delay
        if self._call_later is not None:
            self._call_later(delay, self._tick)

    def flush(self) -> None:
        """Write every count not yet written (on the way out)."""
        self.drain()
        with self._lock:
            now = time.monotonic()
            for burst in self._bursts.values():
                if burst.silent:
                    self._write_count(burst, now - burst.started)
            self._bursts.clear()
            self._due = None

    @staticmethod
    def _write_count(burst: _Burst, seconds: float) -> None:
        _write_line(f"{burst.tally.format(count=burst.silent)} in the last {seconds:.1f} s: "
                    f"{burst.reason}")


def _thread_timer(delay: float, callback: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer


BURSTS = Bursts()

# A diagnostic about one peer: ``HOST:PORT: what happened``.
_ABOUT_A_PEER = re.compile(r"(?:\[[^\]]*\]|[^\s:\[\]]+):\d+: (?P<what>.*)", re.DOTALL)


def log(message: str) -> None:
    """A diagnostic: one line on standard error.

    A line about one peer (``HOST:PORT: what happened``, as every port writes
    them) is what a flood repeats: those go through :data:`BURSTS`, by what
    happened, so that a storm of resets is a line a second.
    """
    about_a_peer = _ABOUT_A_PEER.fullmatch(message)
    if about_a_peer is None:
        BURSTS.write(message)
    else:
        BURSTS.note(message, "{count} more connections", about_a_peer["what"])


def fail(message: str) -> NoReturn:
    """An expected failure: one line on standard error, exit status 1."""
    log(f"error: {message}")
    sys.exit(1)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, not usage and then error."""

    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage first; one line says enough.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0-65535")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"timeout must be positive, not {text}")
    return seconds


def _parser(module: str, doc: str | None) -> OneLineParser:
    summary = (doc or "").strip().splitlines()[0] if doc else None
    return OneLineParser(prog=f"python -m modern.{module}", description=summary)


def server_parser(module: str, doc: str | None,
                  like: str | None = None) -> argparse.ArgumentParser:
    """The options every server takes; ``like`` adds ``--like CONVERSATION``
    with that conversation as its default."""
    parser = _parser(module, doc)
    parser.add_argument(
        "--host", default=DEFAULT_HOST,
        help="address to bind (default %(default)s; the originals bound the "
             "host name or every interface)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT,
        help="port to bind; 0 picks a free one (default %(default)s)")
    parser.add_argument(
        "-q", "--quiet", action="store_true",
        help="print no per-connection events, only the listening line")
    if like:
        parser.add_argument(
            "--like", choices=list(CONVERSATIONS), default=like,
            help="speak this legacy server's conversation (default %(default)s)")
    return parser


def add_limits(parser: argparse.ArgumentParser, idle: bool = True) -> None:
    """``--max-connections`` and (``idle``) ``--idle-timeout``, for the servers
    that hold many connections at once."""
    parser.add_argument(
        "--max-connections", type=count, default=default_max_connections(),
        help="close new connections at once beyond this many (default %(default)s: "
             "the descriptor limit less a margin)")
    if idle:
        parser.add_argument(
            "--idle-timeout", type=_seconds, default=None, metavar="SECONDS",
            help="close a connection that sends nothing for this long (default: never, "
                 "as the originals)")


def add_workers(parser: argparse.ArgumentParser) -> None:
    """``--workers N``, for the servers whose one process holds many connections."""
    parser.add_argument(
        "--workers", type=functools.partial(count, what="workers"), default=1, metavar="N",
        help="serve from N processes sharing the port (SO_REUSEPORT), each with its own "
             "event loop; --max-connections counts per process (default %(default)s)")


def default_max_connections() -> int:
    """The descriptor limit less a margin for the listener, standard streams and
    the connection being accepted: beyond it, accept() would fail anyway."""
    if resource is None:
        return 512 - 32  # Windows: select() watches at most 512 sockets
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, min(soft, 1 << 20) - 32)


def count(text: str, what: str = "connections") -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid number of {what} {text!r}")
    return int(text)


class Limits:
    """How many connections a server holds, and for how long an idle one.

    The idle clock keeps connections in order of last activity, so finding
    the expired ones costs only as many as have expired, however many are idle.
    """

    def __init__(self, max_connections: int, idle_timeout: float | None = None) -> None:
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._last_seen: OrderedDict[Any, float] = OrderedDict()

    def refuse(self, held: int, address: Any) -> bool:
        """True, and logged, if a new connection would be one too many."""
        if held < self.max_connections:
            return False
        BURSTS.note(f"refused {format_address(address)}: already {held} connections "
                    "(--max-connections)", "refused {count} more connections",
                    f"at --max-connections {self.max_connections}")
        return True

    def touch(self, key: Any) -> None:
        """``key`` was active just now."""
        if self.idle_timeout is not None:
            self._last_seen[key] = time.monotonic()
            self._last_seen.move_to_end(key)

    def forget(self, key: Any) -> None:
        self._last_seen.pop(key, None)

    def wait(self) -> float | None:
        """Seconds a loop may wait: until the next connection expires, or the
        next count of a burst falls due (:meth:`Bursts.due`); None: no need to wake."""
        due = BURSTS.due()
        if self.idle_timeout is None or not self._last_seen:
            return due
        oldest = next(iter(self._last_seen.values()))
        expires = max(0.0, oldest + self.idle_timeout - time.monotonic())
        return expires if due is None else min(due, expires)

    def expired(self) -> list[Any]:
        """The connections idle for longer than the timeout, now forgotten."""
        if self.idle_timeout is None:
            return []
        deadline = time.monotonic() - self.idle_timeout
        gone = []
        while self._last_seen:
            key, seen = next(iter(self._last_seen.items()))
            if seen > deadline:
                break
            del self._last_seen[key]
            gone.append(key)
        return gone


def client_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The options every client takes."""
    parser = _parser(module, doc)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="server address (default %(default)s)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help="server port (default %(default)s)")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT,
                        help="seconds to wait for the server (default %(default)s)")
    return parser


def resolve(host: str, port: int) -> tuple[socket.AddressFamily, Any]:
    """The family and socket address to bind for ``host``, or a one-line exit."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        fail(f"cannot resolve {host!r}: {exc.strerror}")
    if socket.inet_pton(family, str(address[0]).split("%")[0]).count(0) == (
            4 if family == socket.AF_INET else 16):  # 0.0.0.0 or ::
        log(f"warning: listening on every interface ({format_address(address)}); "
            "anyone who can reach this host can connect")
    return family, address


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or a one-line exit saying why not."""
    family, address = resolve(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restarted server bind while old connections sit in TIME_WAIT;
        # on POSIX it never lets two live listeners share a port.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(socket.SOMAXCONN)
    except OSError as exc:
        listener.close()
        fail(f"cannot listen on {format_address(address)}: {exc.strerror}")
    _reserve()
    return listener


def listen_shared(host: str, port: int, sockets: int) -> list[socket.socket]:
    """``sockets`` listening sockets on one ``host:port``, among which the kernel
    spreads new connections (SO_REUSEPORT), or a one-line exit saying why not."""
    if not hasattr(socket, "SO_REUSEPORT"):
        fail("--workers needs SO_REUSEPORT, which this platform does not have")
    family, address = resolve(host, port)
    listeners: list[socket.socket] = []
    try:
        for _ in range(sockets):
            listener = socket.socket(family, socket.SOCK_STREAM)
            listeners.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Every socket sharing the port says so, the first one too.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(address)
            listener.listen(socket.SOMAXCONN)
            # With port 0, the others join the port the first was given.
            address = listener.getsockname()
    except OSError as exc:
        for listener in listeners:
            listener.close()
        fail(f"cannot listen on {format_address(address)}: {exc.strerror}")
    _reserve()
    return listeners


# The signals that stop a server; held while a worker is forked (serve_workers).
STOPPING = {signal.SIGINT, signal.SIGTERM}


class StopSignals:
    """SIGINT and SIGTERM as something a loop waits for beside its sockets.

    Everywhere else (``run``) those signals raise KeyboardInterrupt at whatever
    statement the program is in.  In a loop that keeps a table of connections,
    that can be between taking a connection out of the table and reporting it
    gone, and its ``disconnected`` line is lost.  While this is held, the signals
    only make ``fileno()`` readable (``signal.set_wakeup_fd``); the loop watches
    it with its connections and, when ``arrived()``, returns between two turns
    with every connection still in its table.  Outside the main thread, where
    Python runs no signal handler, the signals keep their handlers and this
    never becomes readable.
    """

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous: dict[int, Any] = {}
        self._wakeup: int | None = None

    def fileno(self) -> int:
        return self._reader.fileno()

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            # The wake-up descriptor first: from then on no signal is missed.
            self._wakeup = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
            for signum in STOPPING:
                self._previous[signum] = signal.signal(signum, _noted)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            # None: a handler not set from Python, which cannot be put back.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._wakeup)
        self._reader.close()
        self._writer.close()

    def arrived(self) -> bool:
        """Whether SIGINT or SIGTERM has come; any other signal with a Python
        handler also writes its number here, and is not a stop."""
        try:
            return any(signum in STOPPING for signum in self._reader.recv(4096))
        except BlockingIOError:
            return False


def _noted(signum: int, frame: object) -> None:
    """A handler that does nothing: the wake-up descriptor has the signal."""


def serve_workers(listeners: list[socket.socket],
                  serve: Callable[[socket.socket], None]) -> None:
    """Serve each listener in a process of its own until SIGINT or SIGTERM,
    which stop every worker; each is reaped before this returns.

    A worker that ends by itself is logged; once none is left, the server
    exits with status 1.  A worker whose parent is killed outright (SIGKILL:
    nothing to stop the workers) stops as if sent SIGTERM.
    """
    workers: list[int] = []
    # Only this process writes to (never, in fact) and holds the write end:
    # when it is gone, for whatever reason, the workers read the end of it.
    parent_alive, parent_gone = os.pipe()
    try:
        for listener in listeners:
            # A signal between fork and the worker's own try would run this
            # cleanup in the worker: held until each side is ready for it.
            signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
            pid = os.fork()
            if pid == 0:
                os.close(parent_gone)
                _work(listener, listeners, parent_alive, serve)
            workers.append(pid)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        os.close(parent_alive)
        for listener in listeners:
            listener.close()
        while workers:
            pid, status = os.wait()
            workers.remove(pid)
            log(f"worker {pid} exited with status {os.waitstatus_to_exitcode(status)}; "
                f"{len(workers)} left")
        fail("every worker has exited")
    finally:
        # Every worker stopped and reaped, however this ends; a second signal
        # waits until they are.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in workers:
            os.waitpid(pid, 0)
        os.close(parent_gone)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)


def _work(listener: socket.socket, listeners: list[socket.socket], parent_alive: int,
          serve: Callable[[socket.socket], None]) -> NoReturn:
    """A worker's life: serve ``listener`` until stopped, then exit, never
    returning into the parent's code."""
    status = 0
    try:
        threading.Thread(target=_stop_when_orphaned, args=(parent_alive,), daemon=True).start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        for other in listeners:
            if other is not listener:
                other.close()
        serve(listener)
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException as exc:
        log(f"worker failed: {exc!r}")
        status = 1
    finally:
        # Nothing, not a second signal nor a closed pipe, may keep the worker
        # from exiting here.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
        with contextlib.suppress(Exception):
            BURSTS.flush()
            sys.stdout.flush()
        os._exit(status)


def _stop_when_orphaned(parent_alive: int) -> None:
    # Nothing is ever written: the read ends when the parent's end closes.
    os.read(parent_alive, 1)
    os.kill(os.getpid(), signal.SIGTERM)


def serve_on(host: str, port: int, workers: int, events: Events,
             serve: Callable[[socket.socket], None]) -> None:
    """Listen on ``host:port``, print the listening line once, and ``serve``
    the listener here or, with more than one worker, in each worker."""
    if workers == 1:
        with listen(host, port) as listener:
            events.listening(listener.getsockname())
            serve(listener)
        return
    listeners = listen_shared(host, port, workers)
    events.listening(listeners[0].getsockname())
    serve_workers(listeners, serve)


# accept() errors that mean "out of descriptors or memory, for now".
RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

# How long to stop accepting when even the spare descriptor cannot help (out
# of kernel memory).  The listening socket stays readable while connections
# wait, so without a pause a loop would spin.
ACCEPT_BACKOFF = 0.1

# One descriptor held in reserve, as libuv does: out of descriptors, accept()
# gives it up for the connection that waits, closes that connection at once and
# takes the descriptor back.  Pausing instead would stop a one-thread loop for
# every client it serves, since the waiting connection keeps the listener
# readable; and the excess learns at once that it was turned away.
_spare: int | None = None

# When accept() started running out of descriptors, if it still is: a burst
# of failures is logged once, not once per attempt.
_starved_since: float | None = None


def _reserve() -> None:
    """Hold the spare descriptor, if one is free."""
    global _spare
    if _spare is None:
        with contextlib.suppress(OSError):
            _spare = os.open(os.devnull, os.O_RDONLY)


def _turn_away(listener: socket.socket, reason: str) -> bool:
    """Accept the waiting connection on the spare descriptor and close it at
    once; False if that did not help (no spare, or accept failed again)."""
    global _spare
    if _spare is None:
        return False
    os.close(_spare)
    _spare = None
    try:
        conn, address = listener.accept()
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    else:
        conn.close()
        BURSTS.note(f"refused {format_address(address)}: {reason}",
                    "refused {count} more connections", reason)
        return True
    finally:
        _reserve()


def accept(listener: socket.socket) -> tuple[socket.socket, Any] | None:
    """The next connection, or None if there was none after all or it failed.

    A failed accept never stops a server.  Out of descriptors (EMFILE and
    kin), it closes the connection that waits at once, on a descriptor held in
    reserve, so the server goes on serving the connections it has at full
    speed, and accepts again once descriptors free up.  Only if that fails too
    (out of memory) does it pause for :data:`ACCEPT_BACKOFF`, rather than spin.
    Each is logged once per burst (:class:`Bursts`).
    """
    global _starved_since
    try:
        conn, address = listener.accept()
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        if exc.errno not in RESOURCE_ERRORS:
            BURSTS.note(f"accept failed: {exc}", "accept failed {count} more times", str(exc))
            return None
        if _starved_since is None:
            _starved_since = time.monotonic()
        if not _turn_away(listener, f"out of descriptors ({exc.strerror})"):
            BURSTS.note(f"accept failed: {exc.strerror}; pausing new connections",
                        "paused {count} more times", f"accept failed: {exc.strerror}")
            time.sleep(ACCEPT_BACKOFF)
        return None
    if _starved_since is not None:
        BURSTS.note(f"accepting again after {time.monotonic() - _starved_since:.1f} s",
                    "accepting again {count} more times", "descriptors freed up")
        _starved_since = None
    return conn, address


def read_chunk(sock: socket.socket, address: Any, events: Events) -> bool:
    """Read once from a readable socket and report what came; False once the
    peer has gone (closed, or failed: logged).  The caller then forgets it."""
    try:
        data = sock.recv(RECV_SIZE)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError as exc:
        log(f"{format_address(address)}: {exc}")
        return False
    if data:
        events.received(address, data)
    return bool(data)


def serve_main(module: str, doc: str | None,
               serve: Callable[[socket.socket, Events, Limits], None],
               argv: Sequence[str] | None) -> None:
    """``main`` of a server with the common options and the limits: parse them,
    listen, print the listening line, then ``serve`` until stopped."""
    parser = server_parser(module, doc)
    add_limits(parser)
    args = parser.parse_args(argv)
    events = Events(args.quiet)
    with listen(args.host, args.port) as listener:
        events.listening(listener.getsockname())
        serve(listener, events, Limits(args.max_connections, args.idle_timeout))


def run(main: Callable[[Sequence[str] | None], None]) -> None:
    """Run a program's ``main`` the way every module here is run.

    SIGTERM is turned into the KeyboardInterrupt that SIGINT already raises, so
    one ``finally`` closes sockets and reaps workers on both, and the program
    exits 0 without a traceback, having written the counts of its last bursts.
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main(None)
    except KeyboardInterrupt:
        sys.exit(0)
    finally:
        BURSTS.flush()
