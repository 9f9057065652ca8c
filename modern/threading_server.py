"""Threading server: a thread per connection, greet and hang up.

Port of ``legacy/v3_threading.py``: :class:`socketserver_server.Server` with
``socketserver.ThreadingMixIn``, as the original added it to ``TCPServer``.
Same conversation as ``v2_socketserver``.

What changed beyond the ``socketserver_server`` port:

- ``server_close`` waits for every handler thread (as ``ThreadingMixIn``
  joins its own since Python 3.7), so SIGINT and SIGTERM leave no thread
  behind.
- ``--max-connections N`` (default: the descriptor limit less a margin): beyond
  N live connections, a new one is closed at once, logged, and gets no thread.
  The original started a thread for every connection, bounded by nothing but
  the descriptor limit, where ``accept`` fails.
- ``--like v4_select`` (or ``v4_poll``) speaks a reading conversation, a
  thread per connection reading until the peer closes: the benchmark's
  thread-per-connection model.  On SIGINT or SIGTERM those sockets are shut
  down, so that every thread ends and is joined.
- Each connection's thread is started without waiting for it to run.
  ``threading.Thread.start`` waits until the new thread has signalled that
  it started; in Python 3 that wait hands the GIL to the new thread, and the
  accept loop then sits idle until the handler gives it back, for every
  connection.  A bare ``_thread`` thread starts without that wait (the
  original did not pay it as dearly under Python 2's GIL), and
  ``server_close`` still waits for every one to end.
"""

from __future__ import annotations

import _thread
import contextlib
import socket
import socketserver
import threading
from collections.abc import Sequence
from typing import Any

from modern import common
from modern.socketserver_server import Server


class ThreadingServer(socketserver.ThreadingMixIn, Server):
    """Counts the connections it holds, from accept to close, in every thread."""

    def __init__(self, listener: socket.socket, events: common.Events,
                 limits: common.Limits, conversation: common.Conversation) -> None:
        super().__init__(listener, events, conversation)
        self.limits = limits
        self._held: set[Any] = set()
        self._held_lock = threading.Lock()
        self._running = 0  # handler threads started and not yet ended
        self._all_ended = threading.Condition(self._held_lock)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's, less the wait in Thread.start (see the docstring).
        with self._held_lock:
            self._running += 1
        try:
            _thread.start_new_thread(self._run_handler, (request, client_address))
        except BaseException:
            # socketserver logs the failure and calls shutdown_request.
            self._handler_ended()
            raise

    def _run_handler(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self._handler_ended()

    def _handler_ended(self) -> None:
        with self._held_lock:
            self._running -= 1
            if not self._running:
                self._all_ended.notify_all()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        # socketserver's hook for turning a connection away before it gets a
        # thread: it then calls shutdown_request, as it does when one ends.
        with self._held_lock:
            if self.limits.refuse(len(self._held), client_address):
                return False
            self._held.add(request)
        return True

    def shutdown_request(self, request: Any) -> None:
        # Called exactly once per accepted connection, refused, served or
        # failed, from whichever thread ends it: a set, not a counter, so that
        # a refused one is not subtracted.  Counted out before the close, so
        # that a peer who has seen the close can count on the room it left.
        with self._held_lock:
            self._held.discard(request)
        # SHUT_RD as well: when a signal lands inside process_request,
        # socketserver ends the connection while its thread may be reading.
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_RDWR)
        super().shutdown_request(request)

    def server_close(self) -> None:
        # Every handler thread is waited for; one reading a quiet peer would
        # never end.  Shutting its socket down ends its read as if the
        # peer had closed: it reports the disconnection and returns.
        with self._held_lock:
            for request in self._held:
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)
            # As ThreadingMixIn's block_on_close: every handler thread has ended.
            self._all_ended.wait_for(lambda: not self._running)
        super().server_close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.server_parser("threading_server", __doc__, like="v3_threading")
    # No --idle-timeout: a thread per connection simply waits.
    common.add_limits(parser, idle=False)
    args = parser.parse_args(argv)
    events = common.Events(args.quiet)
    limits = common.Limits(args.max_connections)
    with ThreadingServer(common.listen(args.host, args.port), events, limits,
                         common.CONVERSATIONS[args.like]) as server:
        events.listening(server.socket.getsockname())
        server.serve_forever()


if __name__ == "__main__":
    common.run(main)
