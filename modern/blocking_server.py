"""Blocking server: one connection at a time, greet and hang up.

Port of ``legacy/v1_server.py``.  Same conversation: on accept, send
``b"thx for conn"`` and close; report ``connected HOST:PORT``.

What changed and why:

- Binds ``127.0.0.1`` by default instead of ``socket.gethostname()``, which may
  resolve to a public address or to nothing at all; ``--host`` and ``--port``
  choose (``--port 0`` picks a free port and prints it first).
- ``sendall`` instead of ``send``: ``send`` may write only part of the bytes.
- A peer that resets, or never reads, costs one logged line, not the server:
  the greeting is sent with a timeout and errors are caught per connection.
- SIGINT and SIGTERM close the listening socket and exit 0.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from modern import common

CONVERSATION = common.CONVERSATIONS["v1_server"]


def serve(listener: socket.socket, events: common.Events) -> None:
    """Accept, greet and close, one client after another, for ever."""
    while True:
        accepted = common.accept(listener)
        if accepted is None:
            continue
        conn, address = accepted
        with conn:
            events.connected(address)
            conn.settimeout(common.SEND_TIMEOUT)
            try:
                conn.sendall(CONVERSATION.greeting)
            except OSError as exc:
                common.log(f"{common.format_address(address)}: {exc}")


def main(argv: Sequence[str] | None = None) -> None:
    args = common.server_parser("blocking_server", __doc__).parse_args(argv)
    events = common.Events(args.quiet)
    with common.listen(args.host, args.port) as listener:
        events.listening(listener.getsockname())
        serve(listener, events)


if __name__ == "__main__":
    common.run(main)
