"""Forking server: a child process per connection, greet and hang up.

Port of ``legacy/v3_forking.py``: :class:`socketserver_server.Server` with
``socketserver.ForkingMixIn``, as the original added it to ``TCPServer``.
Same conversation as ``v2_socketserver``; each child reports its own
``connected HOST:PORT`` line.

What changed beyond the ``socketserver_server`` port: nothing in the server
itself.  ``ForkingMixIn`` already bounds its children (``max_children``) and,
on shutdown, ``server_close`` waits for every child, so SIGINT and SIGTERM
leave no zombie.  Where ``os.fork`` is missing (Windows), ``compat.forking``
serves each connection in a thread instead and warns once.
"""

from __future__ import annotations

from collections.abc import Sequence

from compat.forking import ForkingMixIn
from modern import common
from modern.socketserver_server import Server, serve_main


class ForkingServer(ForkingMixIn, Server):
    pass


def main(argv: Sequence[str] | None = None) -> None:
    serve_main("forking_server", __doc__, ForkingServer, argv)


if __name__ == "__main__":
    common.run(main)
