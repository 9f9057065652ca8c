"""asyncio server: a coroutine per connection on one event loop, any conversation.

No legacy original: this is the article's "asynchronous I/O" as Python 3
writes it.  ``asyncio.start_server`` hands each connection over as a stream
pair; the event loop underneath waits with epoll (or kqueue), and with
``--loop uvloop`` that loop is libuv's, written in C.  A connection that has
to wait for its peer is served by :func:`handle`, a task of its own; a
greeting conversation, which never waits, is served in the accept callback
and costs no task.

``--like`` picks the legacy conversation to speak (default ``v4_select``), as
in ``selectors_server``.  ``--loop auto`` uses uvloop where it is installed.
``--workers N`` runs N processes on the port, each with its own loop, as in
``selectors_server``.

Payloads stay ``bytes`` from ``read`` to the event line; nothing is decoded.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Sequence
from typing import Any

from compat.loops import LOOPS, resolve_loop, run_with_loop
from modern import common


def greet(writer: asyncio.StreamWriter, address: Any, conversation: common.Conversation,
          events: common.Events) -> bool:
    """Report the connection from ``address`` and send the greeting, without
    waiting; False (and the connection closed) when there is no address: the
    peer reset the connection before it was accepted, and there is no one to
    greet and nothing to report."""
    if address is None:
        common.BURSTS.note("a connection was reset before it could be served",
                           "{count} more connections", "reset before they could be served")
        writer.close()
        return False
    global _starved
    if _starved:
        _starved = False
        common.BURSTS.note("accepting again", "accepting again {count} more times",
                           "descriptors freed up")
    events.connected(address)
    writer.write(conversation.greeting)
    return True


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 conversation: common.Conversation, events: common.Events,
                 idle_timeout: float | None = None, greeted: bool = False) -> None:
    """Serve one connection, greeted already or not (:func:`greet`)."""
    address = writer.get_extra_info("peername")
    if not greeted and not greet(writer, address, conversation, events):
        return
    try:
        # A greeting this short is in the kernel at once; wait_for would cost
        # a task per connection only to find that out.
        if writer.transport.get_write_buffer_size():
            await asyncio.wait_for(writer.drain(), common.SEND_TIMEOUT)
        if conversation.closes:
            return
        while data := await asyncio.wait_for(reader.read(common.RECV_SIZE), idle_timeout):
            events.received(address, data)
    except asyncio.TimeoutError:
        common.log(f"{common.format_address(address)}: timed out, closing")
    except OSError as exc:
        common.log(f"{common.format_address(address)}: {exc!r}")
    finally:
        writer.close()
    if not conversation.closes:
        events.disconnected(address)


# asyncio's own loop accepts up to ``backlog`` connections per turn and, out
# of descriptors, does not stop at the first failure (CPython gh-151615, fixed
# upstream in 2026): every one of those attempts fails again, is reported, and
# schedules a retry of its own.  With a backlog of SOMAXCONN (4096) that was
# about 0.4 s of CPU a second while out of descriptors, and every client
# waited for it.  So the loop is given asyncio's default, and the listen queue
# its SOMAXCONN back at once (restore_backlog).
ACCEPTS_PER_TURN = 100


def backlog_for(loop: asyncio.AbstractEventLoop) -> int:
    """The backlog to hand ``start_server``/``create_server`` on ``loop``."""
    return ACCEPTS_PER_TURN if isinstance(loop, asyncio.BaseEventLoop) else socket.SOMAXCONN


def restore_backlog(listener: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
    """Give the listen queue SOMAXCONN again once the server listens: asyncio
    listens anew with the backlog it was given (see ACCEPTS_PER_TURN), and
    a short queue would drop handshakes under a burst."""
    if backlog_for(loop) != socket.SOMAXCONN:
        listener.listen(socket.SOMAXCONN)


# Whether the loop last reported running out of descriptors: a burst of
# failures is logged once, not once per attempt.
_starved = False

OUT_OF_RESOURCES = "socket.accept() out of system resource"


def log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """One line for what the loop reports on its own, not a traceback.

    Out of descriptors, asyncio's loop reports here (once per connection
    waiting, not once per burst) and stops accepting for a second before it
    tries again.  uvloop (libuv) reports nothing: it accepts and at once
    closes the connections it has no descriptor for.
    """
    global _starved
    if context.get("message") == OUT_OF_RESOURCES:
        if _starved:
            return
        _starved = True
    exception = context.get("exception")
    detail = f": {exception}" if exception else ""
    common.log(f"{context.get('message', 'event loop error')}{detail}")


async def serve(listener: socket.socket, conversation: common.Conversation,
                events: common.Events, limits: common.Limits) -> None:
    """Serve until SIGINT or SIGTERM, then close every connection and return."""
    connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
    loop = asyncio.get_running_loop()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callable, not a coroutine function: start_server makes a task
        # only of a coroutine.  A greeting conversation, which never has to
        # wait once its greeting is in the kernel, is served here in full, in
        # the loop's own callback; a connection that must wait gets its task.
        address = writer.get_extra_info("peername")
        if limits.refuse(len(connections), address or ("?", 0)):
            writer.close()
            return
        if not greet(writer, address, conversation, events):
            return
        if conversation.closes and not writer.transport.get_write_buffer_size():
            writer.close()
            return
        task = loop.create_task(handle(reader, writer, conversation, events,
                                       limits.idle_timeout, greeted=True))
        connections[task] = writer
        task.add_done_callback(connections.__delitem__)

    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with common.BURSTS.kept_by_loop(loop.call_later):
        loop.set_exception_handler(log_loop_error)
        if hasattr(asyncio, "eager_task_factory") and isinstance(loop, asyncio.BaseEventLoop):
            # Python 3.12+: each connection's task runs at once, from the
            # accept callback, up to its first read, without a trip through the
            # loop's ready queue.  asyncio's own loop only: uvloop 0.23 passes
            # the factory an eager_start that 3.13.0's does not take.
            loop.set_task_factory(asyncio.eager_task_factory)
        # start_server listens again, with the backlog it is given.
        server = await asyncio.start_server(accepted, sock=listener, limit=common.RECV_SIZE,
                                            backlog=backlog_for(loop))
        restore_backlog(listener, loop)
        await stop.wait()
        server.close()
        # Closing a transport ends its handler's read as if the peer had closed, so
        # every handler finishes normally and reports its disconnection.  (Since
        # Python 3.12, wait_closed() also waits for them.)
        for writer in connections.values():
            writer.close()
        if connections:
            await asyncio.wait(list(connections), timeout=common.SEND_TIMEOUT)
        await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.server_parser("asyncio_server", __doc__, like="v4_select")
    common.add_limits(parser)
    parser.add_argument("--loop", choices=LOOPS, default="auto",
                        help="event loop: asyncio's, uvloop, or uvloop where "
                             "installed (default %(default)s)")
    common.add_workers(parser)
    args = parser.parse_args(argv)
    try:
        loop = resolve_loop(args.loop)
    except LookupError as exc:
        common.fail(str(exc))
    events = common.Events(args.quiet)
    conversation = common.CONVERSATIONS[args.like]
    limits = common.Limits(args.max_connections, args.idle_timeout)
    # Each worker makes its own loop: none exists before the fork.
    common.serve_on(args.host, args.port, args.workers, events,
                    lambda listener: run_with_loop(serve(listener, conversation, events, limits),
                                                   loop))


if __name__ == "__main__":
    common.run(main)
