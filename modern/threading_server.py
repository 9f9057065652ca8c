"""Threading server: a thread per connection, greet and hang up.

Port of ``legacy/v3_threading.py``: :class:`socketserver_server.Server` with
``socketserver.ThreadingMixIn``, as the original added it to ``TCPServer``.
Same conversation as ``v2_socketserver``.

What changed beyond the ``socketserver_server`` port: nothing in the server
itself.  Since Python 3.7 ``ThreadingMixIn`` keeps its non-daemon threads and
``server_close`` joins them, so SIGINT and SIGTERM leave no thread behind.
"""

from __future__ import annotations

import socketserver
from collections.abc import Sequence

from modern import common
from modern.socketserver_server import Server, serve_main


class ThreadingServer(socketserver.ThreadingMixIn, Server):
    pass


def main(argv: Sequence[str] | None = None) -> None:
    serve_main("threading_server", __doc__, ThreadingServer, argv)


if __name__ == "__main__":
    common.run(main)
