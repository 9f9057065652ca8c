"""Forking server: a child process per connection, greet and hang up.

Port of ``legacy/v3_forking.py``: :class:`socketserver_server.Server` with
``socketserver.ForkingMixIn``, as the original added it to ``TCPServer``.
Same conversation as ``v2_socketserver``; each child reports its own
``connected HOST:PORT`` line.

What changed beyond the ``socketserver_server`` port:

- ``ForkingMixIn`` already bounds its children (``max_children``, 40): a
  connection beyond that waits in the listen queue until a child ends.
  ``--max-children`` sets the bound.  On shutdown, ``server_close`` waits for
  every child, so SIGINT and SIGTERM leave no zombie.
- ``--like v4_select`` (or ``v4_poll``) speaks a reading conversation, a
  process per connection reading until the peer closes: the benchmark's
  process-per-connection model.  Such a child would wait for its peer for
  ever, so on the way out each child is sent SIGTERM, which ends it with its
  connection closed.
- SIGINT and SIGTERM are held while a child is forked, and the child takes
  them only once its handler starts.  Python runs code of its own in a new
  child first (``threading``'s reset, the diagnostics pipe's); a stop signal
  landing there, as the parent's SIGTERM to a child just forked can, printed
  an "Exception ignored" traceback and could leave the child writing its
  diagnostics past the pipe.  Held, it ends the child once its handler starts.
- A child's diagnostics (a reset, say) go through a pipe to the parent,
  which writes them once per burst with its own (``common.Bursts``): a reset
  storm is a line a second, not a line per child.
- Where ``os.fork`` is missing (Windows), ``compat.forking`` serves each
  connection in a thread instead and warns once.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence

from compat.forking import ForkingMixIn
from modern import common
from modern.socketserver_server import Server

TYPE_CHECKING = False  # not typing at run time (modern/common.py says why)
if TYPE_CHECKING:
    from typing import Any

# socketserver.ForkingMixIn.max_children; the thread fallback has none.
MAX_CHILDREN = 40


class ForkingServer(ForkingMixIn, Server):
    def server_close(self) -> None:
        for pid in getattr(self, "active_children", None) or ():
            # Ours until reaped.  A signal can land between waitpid reaping a
            # child and socketserver forgetting it: that one is already gone.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        super().server_close()
        common.BURSTS.drain()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not hasattr(os, "fork"):  # threads instead (compat.forking): no child
            super().process_request(request, client_address)
            return
        # Held over the fork, in the parent until the child is in its table,
        # in the child until its handler starts (finish_request).
        signal.pthread_sigmask(signal.SIG_BLOCK, common.STOPPING)
        try:
            super().process_request(request, client_address)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, common.STOPPING)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # In the child (ForkingMixIn calls it nowhere else), past Python's own
        # after-fork code: a stop held since the fork lands here, and ends the
        # child as it would have in its handler.
        if hasattr(os, "fork"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, common.STOPPING)
        super().finish_request(request, client_address)

    def service_actions(self) -> None:
        # Between connections, and at least every poll interval: the children's
        # diagnostics, summed up with the parent's (a reset storm is a line a
        # second, not a line per child).
        super().service_actions()
        common.BURSTS.drain()

    def collect_children(self, *, blocking: bool = False) -> None:
        # ForkingMixIn's asks each live child in turn (waitpid(pid)), once per
        # turn of serve_forever, so a busy server spends a system call per
        # child per connection; it avoids waitpid(-1) only because that could
        # reap a child someone else started, and this server starts none but
        # its own.  This one costs one call per child that ended, plus one.
        if not getattr(self, "active_children", None):
            return
        while self.active_children:
            full = len(self.active_children) >= self.max_children
            try:
                pid, _ = os.waitpid(-1, 0 if blocking or full else os.WNOHANG)
            except ChildProcessError:
                self.active_children.clear()
                return
            if not pid:
                return
            self.active_children.discard(pid)


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.server_parser("forking_server", __doc__, like="v3_forking")
    parser.add_argument(
        "--max-children", type=common.count, default=MAX_CHILDREN,
        help="serve at most this many connections at once; more wait to be accepted "
             "(default %(default)s, socketserver's)")
    args = parser.parse_args(argv)
    events = common.Events(args.quiet)
    if hasattr(os, "fork"):
        common.BURSTS.relay_children()
    with ForkingServer(common.listen(args.host, args.port), events,
                       common.CONVERSATIONS[args.like]) as server:
        server.max_children = args.max_children
        events.listening(server.socket.getsockname())
        server.serve_forever()


if __name__ == "__main__":
    common.run(main)
