"""asyncio Protocol server: the reference for what asyncio's streams cost.

Not a port and not the API to learn from: ``asyncio_server`` is, with its
streams (``asyncio.start_server``, a ``StreamReader``/``StreamWriter`` pair
for each connection and a task for each that waits for its peer).  This server
speaks the same conversations and prints the same event lines with a bare
``asyncio.Protocol`` on the same event loop: callbacks the loop calls
directly, no task, no stream objects.  The benchmark
runs it beside ``asyncio_server`` so that the difference between the two is
the price of the streams layer, and what is left is the loop's own.

Same options as ``asyncio_server`` (``--like``, ``--loop``,
``--max-connections``, ``--idle-timeout``); payloads stay ``bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Sequence
from typing import Any, cast

from compat.loops import LOOPS, resolve_loop, run_with_loop
from modern import asyncio_server, common


class Connection(asyncio.Protocol):
    """One connection, from the loop's callbacks."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.address: Any = None
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None  # the idle timeout

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = stream = cast(asyncio.Transport, transport)
        server = self.server
        self.address = stream.get_extra_info("peername")
        if self.address is None:
            common.log("a connection was reset before it could be served")
            stream.close()
            return
        if server.limits.refuse(len(server.connections), self.address):
            stream.close()
            return
        if asyncio_server._starved:
            asyncio_server._starved = False
            common.log("accepting again")
        server.connections.add(self)
        server.events.connected(self.address)
        # A greeting this short never fills the transport's buffer, so, as
        # with asyncio_server's drain(), there is nothing to wait for.
        stream.write(server.conversation.greeting)
        if server.conversation.closes:
            stream.close()  # once the greeting is out
        else:
            self._arm()

    def _arm(self) -> None:
        """(Re)start the idle clock, if there is one."""
        seconds = self.server.limits.idle_timeout
        if seconds is None:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        common.log(f"{common.format_address(self.address)}: timed out, closing")
        assert self.transport is not None
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.server.events.received(self.address, data)
        self._arm()

    def eof_received(self) -> bool:
        return False  # the peer has closed: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self not in self.server.connections:
            return
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
        if exc is not None:
            common.log(f"{common.format_address(self.address)}: {exc!r}")
        if not self.server.conversation.closes:
            self.server.events.disconnected(self.address)
        if not self.server.connections:
            self.server.all_closed.set()


class Server:
    """What every connection shares: the conversation, events and limits."""

    def __init__(self, conversation: common.Conversation, events: common.Events,
                 limits: common.Limits) -> None:
        self.conversation = conversation
        self.events = events
        self.limits = limits
        self.connections: set[Connection] = set()
        self.all_closed = asyncio.Event()


async def serve(listener: socket.socket, conversation: common.Conversation,
                events: common.Events, limits: common.Limits) -> None:
    """Serve until SIGINT or SIGTERM, then close every connection and return."""
    state = Server(conversation, events, limits)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with common.BURSTS.kept_by_loop(loop.call_later):
        loop.set_exception_handler(asyncio_server.log_loop_error)
        server = await loop.create_server(lambda: Connection(state), sock=listener,
                                          backlog=asyncio_server.backlog_for(loop))
        asyncio_server.restore_backlog(listener, loop)
        events.listening(listener.getsockname())
        await stop.wait()
        server.close()
        if state.connections:
            state.all_closed.clear()
            # Each close reports its disconnection from connection_lost.
            for connection in list(state.connections):
                assert connection.transport is not None
                connection.transport.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(state.all_closed.wait(), common.SEND_TIMEOUT)
        await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.server_parser("asyncio_protocol_server", __doc__, like="v4_select")
    common.add_limits(parser)
    parser.add_argument("--loop", choices=LOOPS, default="auto",
                        help="event loop: asyncio's, uvloop, or uvloop where "
                             "installed (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        loop = resolve_loop(args.loop)
    except LookupError as exc:
        common.fail(str(exc))
    events = common.Events(args.quiet)
    listener = common.listen(args.host, args.port)
    limits = common.Limits(args.max_connections, args.idle_timeout)
    run_with_loop(serve(listener, common.CONVERSATIONS[args.like], events, limits), loop)


if __name__ == "__main__":
    common.run(main)
