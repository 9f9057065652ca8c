"""What every port shares: the conversations, the event lines and the command line.

Each server module reads top to bottom on its own; this module holds only the
pieces that must be identical everywhere, so that the contract suite can hold
every port to the same wire bytes and the same event lines.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Conversation:
    """What a legacy server says on accept, and whether it then hangs up."""

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


class Events:
    """The event lines on standard output, one per line, flushed at once.

    Threads of one server share an instance; the lock keeps their lines whole.
    Forked children inherit it and each line is written in one call, which a
    pipe keeps whole too (a line is far below PIPE_BUF).
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
        if not self.quiet:
            self._emit(f"received {format_address(address)} {data!r}")

    def disconnected(self, address: Any) -> None:
        if not self.quiet:
            self._emit(f"disconnected {format_address(address)}")


def log(message: str) -> None:
    """A diagnostic: one line on standard error."""
    print(message, file=sys.stderr, flush=True)


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


def default_max_connections() -> int:
    """The descriptor limit less a margin for the listener, standard streams and
    the connection being accepted: beyond it, accept() would fail anyway."""
    if resource is None:
        return 512 - 32  # Windows: select() watches at most 512 sockets
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, min(soft, 1 << 20) - 32)


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid number of connections {text!r}")
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
        log(f"refused {format_address(address)}: already {held} connections "
            "(--max-connections)")
        return True

    def touch(self, key: Any) -> None:
        """``key`` was active just now."""
        if self.idle_timeout is not None:
            self._last_seen[key] = time.monotonic()
            self._last_seen.move_to_end(key)

    def forget(self, key: Any) -> None:
        self._last_seen.pop(key, None)

    def wait(self) -> float | None:
        """Seconds until the next connection expires; None: no need to wake."""
        if self.idle_timeout is None or not self._last_seen:
            return None
        oldest = next(iter(self._last_seen.values()))
        return max(0.0, oldest + self.idle_timeout - time.monotonic())

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
    if ipaddress.ip_address(str(address[0]).split("%")[0]).is_unspecified:
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


def _turn_away(listener: socket.socket) -> bool:
    """Accept the waiting connection on the spare descriptor and close it at
    once; False if that did not help (no spare, or accept failed again)."""
    global _spare
    if _spare is None:
        return False
    os.close(_spare)
    _spare = None
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    else:
        conn.close()
        return True
    finally:
        _reserve()


def accept(listener: socket.socket) -> tuple[socket.socket, Any] | None:
    """The next connection, or None if there was none after all or it failed.

    A failed accept never stops a server.  Out of descriptors (EMFILE and
    kin), it logs once per burst and closes the connection that waits at once,
    on a descriptor held in reserve, so the server goes on serving the
    connections it has at full speed and accepts again once descriptors free
    up.  Only if that fails too (out of memory) does it pause for
    :data:`ACCEPT_BACKOFF`, rather than spin.
    """
    global _starved_since
    try:
        conn, address = listener.accept()
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        if exc.errno not in RESOURCE_ERRORS:
            log(f"accept failed: {exc}")
            return None
        if _starved_since is None:
            _starved_since = time.monotonic()
            log(f"accept failed: {exc.strerror}; closing new connections at once until "
                "descriptors free up")
        if not _turn_away(listener):
            time.sleep(ACCEPT_BACKOFF)
        return None
    if _starved_since is not None:
        log(f"accepting again after {time.monotonic() - _starved_since:.1f} s")
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
    exits 0 without a traceback.
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main(None)
    except KeyboardInterrupt:
        sys.exit(0)
