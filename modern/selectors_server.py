"""selectors server: the best readiness API the platform has, any conversation.

No legacy original: this is what ``v4_select`` and ``v4_poll`` become in
modern Python.  ``selectors.DefaultSelector`` is epoll on Linux, kqueue on the
BSDs and macOS, and falls back to poll or select elsewhere, so the same loop
watches ten thousand idle connections at the cost of the few that are active.

``--like`` picks the legacy conversation to speak (default ``v4_select``): the
greeting to send on accept, and then either hang up (``v1_server``,
``v2_socketserver``, ``v3_*``) or report what the peer sends until it goes
(``v4_select``, ``v4_poll``).  The events are the same as every other port's.
``--max-connections`` and ``--idle-timeout`` bound what it holds.

One process uses one core.  ``--workers N`` starts N processes, each with its
own listening socket on the same port (SO_REUSEPORT: the kernel spreads new
connections among them) and its own loop; SIGINT or SIGTERM to the first
stops and reaps them all.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Sequence

from modern import common


def serve(listener: socket.socket, conversation: common.Conversation,
          events: common.Events, limits: common.Limits) -> None:
    """Greet each client, then hang up or report what it sends until it goes."""
    listener.setblocking(False)
    with (selectors.DefaultSelector() as selector, common.StopSignals() as stop,
          common.BURSTS.kept_by_loop()):
        selector.register(listener, selectors.EVENT_READ)
        selector.register(stop, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in selector.select(limits.wait()):
                    if key.fileobj is listener:
                        accept(listener, selector, conversation, events, limits)
                    elif key.fileobj is stop:
                        if stop.arrived():
                            return
                    else:
                        receive(key, selector, events, limits)
                for sock in limits.expired():
                    key = selector.get_key(sock)
                    common.log(f"{common.format_address(key.data)}: idle, closing")
                    hang_up(key, selector, events, limits)
                common.BURSTS.tick()
        finally:
            selector.unregister(stop)
            for key in list(selector.get_map().values()):
                if key.fileobj is not listener:
                    key.fileobj.close()  # type: ignore[union-attr]
                    events.disconnected(key.data)


def accept(listener: socket.socket, selector: selectors.BaseSelector,
           conversation: common.Conversation, events: common.Events,
           limits: common.Limits) -> None:
    accepted = common.accept(listener)
    if accepted is None:
        return
    conn, address = accepted
    # Registered beside the connections: the listener and the stop signals.
    if limits.refuse(len(selector.get_map()) - 2, address):
        conn.close()
        return
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
        limits.touch(conn)


def receive(key: selectors.SelectorKey, selector: selectors.BaseSelector,
            events: common.Events, limits: common.Limits) -> None:
    assert isinstance(key.fileobj, socket.socket)
    if common.read_chunk(key.fileobj, key.data, events):
        limits.touch(key.fileobj)
    else:
        hang_up(key, selector, events, limits)


def hang_up(key: selectors.SelectorKey, selector: selectors.BaseSelector,
            events: common.Events, limits: common.Limits) -> None:
    selector.unregister(key.fileobj)
    limits.forget(key.fileobj)
    key.fileobj.close()  # type: ignore[union-attr]
    events.disconnected(key.data)


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.server_parser("selectors_server", __doc__, like="v4_select")
    common.add_limits(parser)
    common.add_workers(parser)
    args = parser.parse_args(argv)
    events = common.Events(args.quiet)
    conversation = common.CONVERSATIONS[args.like]
    limits = common.Limits(args.max_connections, args.idle_timeout)
    common.serve_on(args.host, args.port, args.workers, events,
                    lambda listener: serve(listener, conversation, events, limits))


if __name__ == "__main__":
    common.run(main)
