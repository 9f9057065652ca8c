"""socketserver server: a handler instance per connection, greet and hang up.

Port of ``legacy/v2_socketserver.py``.  Same conversation: on accept, send
``b"thx for you connecting"``; socketserver closes the connection when the
handler returns.  Reports ``connected HOST:PORT``.

What changed and why:

- ``SocketServer`` is ``socketserver`` in Python 3; the handler writes
  ``bytes``, which Python 2 let a ``str`` stand for.
- The article's first line, a non-ASCII comment with no coding declaration,
  stopped the original from starting at all (PEP 263); Python 3 reads source
  as UTF-8.
- The peer address comes from ``accept`` (``client_address``), not from
  ``getpeername()``, which fails once the peer has reset.
- Binds ``127.0.0.1`` by default, not every interface; ``SO_REUSEADDR`` so a
  restart does not wait out TIME_WAIT; a backlog of ``SOMAXCONN``, not 5.
- A handler error is one logged line, not a traceback; SIGINT and SIGTERM
  close the server and exit 0.
- Out of descriptors, accept closes the excess at once and logs once instead
  of spinning.

``forking_server`` and ``threading_server`` reuse :class:`Server` with a mixin,
exactly as the originals did, and can also speak a reading conversation
(``--like v4_select``): a process or a thread per connection, for comparison
with the event loops.
"""

from __future__ import annotations

import socket
import socketserver
import sys
from collections.abc import Sequence

from modern import common

TYPE_CHECKING = False  # not typing at run time (modern/common.py says why)
if TYPE_CHECKING:
    from typing import Any

CONVERSATION = common.CONVERSATIONS["v2_socketserver"]


class Handler(socketserver.StreamRequestHandler):
    server: Server

    def setup(self) -> None:
        # Bound the greeting's send: a peer that never reads must not hold a
        # sequential server, or a worker, for ever.
        self.request.settimeout(common.SEND_TIMEOUT)
        super().setup()

    def handle(self) -> None:
        conversation, events = self.server.conversation, self.server.events
        events.connected(self.client_address)
        if conversation.closes:
            self.wfile.write(conversation.greeting)
            return
        # A reading conversation (threading_server or forking_server --like
        # v4_select): this thread or process is the connection's until the
        # peer closes, or the server shuts the socket down on its way out.
        # Either way, as in every reading port, the end is reported.
        try:
            self.wfile.write(conversation.greeting)
        except OSError as exc:
            common.log(f"{common.format_address(self.client_address)}: {exc}")
        else:
            self.request.settimeout(None)
            while common.read_chunk(self.request, self.client_address, events):
                pass
        events.disconnected(self.client_address)


class Server(socketserver.TCPServer):
    """A TCPServer on a socket that :func:`common.listen` has already bound."""

    def __init__(self, listener: socket.socket, events: common.Events,
                 conversation: common.Conversation = CONVERSATION) -> None:
        self.address_family = listener.family
        self.events = events
        self.conversation = conversation
        super().__init__(listener.getsockname(), Handler, bind_and_activate=False)
        # socketserver always makes a socket of its own; ours is bound already
        # and failed, if it failed, the same way as every other port's.
        self.socket.close()
        self.socket = listener

    def get_request(self) -> tuple[socket.socket, Any]:
        # socketserver retries a failed accept at once, and would spin while
        # out of descriptors; common.accept logs once and turns the excess away.
        accepted = common.accept(self.socket)
        if accepted is None:
            raise OSError("no connection accepted")  # socketserver skips this request
        return accepted

    def handle_error(self, request: Any, client_address: Any) -> None:
        common.log(f"{common.format_address(client_address)}: {sys.exc_info()[1]}")


def main(argv: Sequence[str] | None = None) -> None:
    args = common.server_parser("socketserver_server", __doc__).parse_args(argv)
    events = common.Events(args.quiet)
    with Server(common.listen(args.host, args.port), events) as server:
        events.listening(server.socket.getsockname())
        server.serve_forever()


if __name__ == "__main__":
    common.run(main)
