"""poll() server: one thread watches every connection, with no FD_SETSIZE.

Port of ``legacy/v4_poll.py``.  Same conversation: no greeting; read until the
peer closes or fails; report ``connected``, ``received`` for each chunk
(several lines for a long one), ``disconnected``.

What changed and why:

- The original registered sockets with poll's default mask, which includes
  POLLOUT.  A connected socket is almost always writable, so poll() returned
  at once, for ever: 100% of a core as soon as one client was connected.  This
  port asks for POLLIN only (POLLHUP and POLLERR are always reported).
- The original had no ``try`` around ``recv``: a peer that reset the
  connection killed the server.  Here it is one logged line and a
  ``disconnected`` event.  The address comes from ``accept``, not from
  ``getpeername()``, which fails on a reset socket.
- Sockets are non-blocking, so a spurious wake-up cannot block the loop.
- Received bytes are reported with ``repr``, never printed raw.
- Binds ``127.0.0.1`` by default; SIGINT and SIGTERM close every socket.
- ``--max-connections`` and ``--idle-timeout`` bound what it holds; out of
  descriptors it closes the excess at once and serves on instead of dying.
- Where ``select.poll`` does not exist (Windows), :mod:`compat.poll` stands in.
"""

from __future__ import annotations

import math
import select
import socket
from collections.abc import Sequence
from typing import Any

from modern import common

if hasattr(select, "poll"):
    from select import POLLIN, poll
else:  # Windows
    from compat.poll import POLLIN, poll  # type: ignore[assignment]


def serve(listener: socket.socket, events: common.Events, limits: common.Limits) -> None:
    """Report what each client sends until it goes."""
    listener.setblocking(False)
    poller = poll()
    poller.register(listener, POLLIN)
    peers: dict[int, tuple[socket.socket, Any]] = {}
    with common.StopSignals() as stop, common.BURSTS.kept_by_loop():
        poller.register(stop, POLLIN)
        try:
            while True:
                wait = limits.wait()
                # poll() counts milliseconds; round up, or it would wake just early.
                for fd, _ in poller.poll(None if wait is None else math.ceil(wait * 1000)):
                    if fd == listener.fileno():
                        accept(listener, poller, peers, events, limits)
                    elif fd == stop.fileno():
                        if stop.arrived():
                            return
                    else:
                        receive(fd, poller, peers, events, limits)
                for fd in limits.expired():
                    common.log(f"{common.format_address(peers[fd][1])}: idle, closing")
                    hang_up(fd, poller, peers, events, limits)
                common.BURSTS.tick()
        finally:
            for sock, address in peers.values():
                sock.close()
                events.disconnected(address)


def accept(listener: socket.socket, poller: Any, peers: dict[int, tuple[socket.socket, Any]],
           events: common.Events, limits: common.Limits) -> None:
    accepted = common.accept(listener)
    if accepted is None:
        return
    conn, address = accepted
    if limits.refuse(len(peers), address):
        conn.close()
        return
    conn.setblocking(False)
    events.connected(address)
    poller.register(conn, POLLIN)
    peers[conn.fileno()] = conn, address
    limits.touch(conn.fileno())


def receive(fd: int, poller: Any, peers: dict[int, tuple[socket.socket, Any]],
            events: common.Events, limits: common.Limits) -> None:
    sock, address = peers[fd]
    if common.read_chunk(sock, address, events):
        limits.touch(fd)
    else:
        hang_up(fd, poller, peers, events, limits)


def hang_up(fd: int, poller: Any, peers: dict[int, tuple[socket.socket, Any]],
            events: common.Events, limits: common.Limits) -> None:
    poller.unregister(fd)
    limits.forget(fd)
    sock, address = peers.pop(fd)
    sock.close()
    events.disconnected(address)


def main(argv: Sequence[str] | None = None) -> None:
    common.serve_main("poll_server", __doc__, serve, argv)


if __name__ == "__main__":
    common.run(main)
