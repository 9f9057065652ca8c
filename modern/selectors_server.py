"""selectors server: the best readiness API the platform has, any conversation.

No legacy original: this is what ``v4_select`` and ``v4_poll`` become in
modern Python.  ``selectors.DefaultSelector`` is epoll on Linux, kqueue on the
BSDs and macOS, and falls back to poll or select elsewhere, so the same loop
watches ten thousand idle connections at the cost of the few that are active.

``--like`` picks the legacy conversation to speak (default ``v4_select``): the
greeting to send on accept, and then either hang up (``v1_server``,
``v2_socketserver``, ``v3_*``) or report what the peer sends until it goes
(``v4_select``, ``v4_poll``).  The events are the same as every other port's.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Sequence

from modern import common


def serve(listener: socket.socket, conversation: common.Conversation,
          events: common.Events) -> None:
    """Greet each client, then hang up or report what it sends until it goes."""
    listener.setblocking(False)
    with selectors.DefaultSelector() as selector:
        selector.register(listener, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in selector.select():
                    if key.fileobj is listener:
                        accept(listener, selector, conversation, events)
                    else:
                        receive(key, selector, events)
        finally:
            for key in list(selector.get_map().values()):
                if key.fileobj is not listener:
                    key.fileobj.close()  # type: ignore[union-attr]
                    events.disconnected(key.data)


def accept(listener: socket.socket, selector: selectors.BaseSelector,
           conversation: common.Conversation, events: common.Events) -> None:
    accepted = common.accept(listener)
    if accepted is None:
        return
    conn, address = accepted
    conn.setblocking(False)
    events.connected(address)
    try:
        # A new socket's send buffer is empty, so the greeting goes out whole
        # or the peer is already gone; sendall raises in both other cases.
        conn.sendall(conversation.greeting)
    except OSError as exc:
        common.log(f"{common.format_address(address)}: {exc}")
        conn.close()
        if not conversation.closes:
            events.disconnected(address)
        return
    if conversation.closes:
        conn.close()
    else:
        selector.register(conn, selectors.EVENT_READ, address)


def receive(key: selectors.SelectorKey, selector: selectors.BaseSelector,
            events: common.Events) -> None:
    sock, address = key.fileobj, key.data
    assert isinstance(sock, socket.socket)
    if common.read_chunk(sock, address, events):
        return
    selector.unregister(sock)
    sock.close()
    events.disconnected(address)


def main(argv: Sequence[str] | None = None) -> None:
    args = common.server_parser("selectors_server", __doc__, like=True).parse_args(argv)
    events = common.Events(args.quiet)
    with common.listen(args.host, args.port) as listener:
        events.listening(listener.getsockname())
        serve(listener, common.CONVERSATIONS[args.like], events)


if __name__ == "__main__":
    common.run(main)
