"""select() server: one thread watches every connection.

Port of ``legacy/v4_select.py``.  Same conversation: on accept, send
``b"connect to server successful"``, then read until the peer closes or fails;
report ``connected``, ``received`` for each chunk (several lines for a long
one), ``disconnected``.

What changed and why:

- ``select()`` watches a bitmap of FD_SETSIZE bits, so it cannot watch a
  descriptor numbered 1024 or more; the original died with ``ValueError:
  filedescriptor out of range in select()`` when one arrived.  This port
  refuses such a connection (one line on standard error, the socket closed)
  and keeps serving everyone else.  ``poll_server`` and ``selectors_server``
  have no such limit.
- The original's bare ``except:`` swallowed every error, then called
  ``getpeername()``, which fails on a reset socket and killed the server.
  This port keeps the address from ``accept`` and catches only ``OSError``.
- Sockets are non-blocking, so a spurious wake-up cannot block the loop.
- Received bytes are reported with ``repr``, never printed raw: binary data
  and newlines stay unambiguous.  No debug lines of the loop's state.
- Binds ``127.0.0.1`` by default; SIGINT and SIGTERM close every socket.
- ``--max-connections`` and ``--idle-timeout`` bound what it holds; out of
  descriptors it closes the excess at once and serves on instead of dying.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Sequence
from typing import Any

from modern import common

CONVERSATION = common.CONVERSATIONS["v4_select"]

# glibc's value, which CPython neither exposes nor lets select() exceed.
FD_SETSIZE = 1024


def serve(listener: socket.socket, events: common.Events, limits: common.Limits) -> None:
    """Greet each client, then report what it sends until it goes."""
    listener.setblocking(False)
    peers: dict[socket.socket, Any] = {}
    with common.StopSignals() as stop, common.BURSTS.kept_by_loop():
        try:
            while True:
                watched: list[Any] = [listener, stop, *peers]
                readable, _, _ = select.select(watched, [], [], limits.wait())
                for sock in readable:
                    if sock is listener:
                        accept(listener, peers, events, limits)
                    elif sock is stop:
                        if stop.arrived():
                            return
                    else:
                        receive(sock, peers, events, limits)
                for sock in limits.expired():
                    common.log(f"{common.format_address(peers[sock])}: idle, closing")
                    hang_up(sock, peers, events, limits)
                common.BURSTS.tick()
        finally:
            for sock, address in peers.items():
                sock.close()
                events.disconnected(address)


def accept(listener: socket.socket, peers: dict[socket.socket, Any],
           events: common.Events, limits: common.Limits) -> None:
    accepted = common.accept(listener)
    if accepted is None:
        return
    conn, address = accepted
    if conn.fileno() >= FD_SETSIZE:
        common.log(f"refused {common.format_address(address)}: descriptor "
                   f"{conn.fileno()} is beyond select()'s FD_SETSIZE ({FD_SETSIZE})")
        conn.close()
        return
    if limits.refuse(len(peers), address):
        conn.close()
        return
    conn.setblocking(False)
    events.connected(address)
    try:
        # A new socket's send buffer is empty, so the greeting goes out whole
        # or the peer is already gone; sendall raises in both other cases.
        conn.sendall(CONVERSATION.greeting)
    except OSError as exc:
        common.log(f"{common.format_address(address)}: {exc}")
        conn.close()
        events.disconnected(address)
        return
    peers[conn] = address
    limits.touch(conn)


def receive(sock: socket.socket, peers: dict[socket.socket, Any],
            events: common.Events, limits: common.Limits) -> None:
    if common.read_chunk(sock, peers[sock], events):
        limits.touch(sock)
    else:
        hang_up(sock, peers, events, limits)


def hang_up(sock: socket.socket, peers: dict[socket.socket, Any],
            events: common.Events, limits: common.Limits) -> None:
    limits.forget(sock)
    sock.close()
    events.disconnected(peers.pop(sock))


def main(argv: Sequence[str] | None = None) -> None:
    common.serve_main("select_server", __doc__, serve, argv)


if __name__ == "__main__":
    common.run(main)
