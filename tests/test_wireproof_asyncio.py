"""In process, on one event loop: asyncio_server's handler and serve loop, and
wireproof's asyncio client side.  No subprocess; every await is bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
import pytest_asyncio

from modern import asyncio_server, common
from wireproof.originals import CONVERSATIONS
from wireproof.replay import run_copy, run_session
from wireproof.sessions import ClientSession, Step

WAIT = 5.0
T = TypeVar("T")


def bounded(awaitable: Awaitable[T]) -> Awaitable[T]:
    return asyncio.wait_for(awaitable, WAIT)


class Recorded(common.Events):
    """The event lines in a list, and a way to wait for one."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        self.changed.set()

    async def wait_for(self, ready: Callable[[list[str]], bool]) -> None:
        async def wait() -> None:
            while not ready(self.lines):
                self.changed.clear()
                await self.changed.wait()
        await bounded(wait())


def oracle(like: str) -> common.Conversation:
    """The conversation as the originals were observed to speak it."""
    seen = CONVERSATIONS[like]
    return common.Conversation(seen.greeting, seen.closes)


async def serving(like: str, events: Recorded, idle_timeout: float | None = None
                  ) -> asyncio.Server:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio_server.handle(reader, writer, oracle(like), events, idle_timeout)
    return await asyncio.start_server(handler, "127.0.0.1", 0)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


@pytest.mark.asyncio
async def test_handle_greets_reports_each_chunk_and_the_disconnection() -> None:
    events = Recorded()
    server = await serving("v4_select", events)
    async with server:
        reader, writer = await bounded(asyncio.open_connection("127.0.0.1", port_of(server)))
        here = common.format_address(writer.get_extra_info("sockname"))
        assert await bounded(reader.readexactly(28)) == b"connect to server successful"
        writer.write(b"\x00\xffhi\n")
        await events.wait_for(lambda lines: f"received {here} b'\\x00\\xffhi\\n'" in lines)
        writer.write_eof()
        assert await bounded(reader.read()) == b""
        await events.wait_for(lambda lines: f"disconnected {here}" in lines)
        writer.close()
    assert events.lines == [f"connected {here}", f"received {here} b'\\x00\\xffhi\\n'",
                            f"disconnected {here}"]


@pytest.mark.asyncio
async def test_handle_greets_and_closes_in_a_greeting_conversation() -> None:
    events = Recorded()
    server = await serving("v1_server", events)
    async with server:
        reader, writer = await bounded(asyncio.open_connection("127.0.0.1", port_of(server)))
        assert await bounded(reader.read()) == b"thx for conn"
        writer.close()
    assert [line.split()[0] for line in events.lines] == ["connected"]


@pytest.mark.asyncio
async def test_handle_closes_an_idle_connection(capsys: pytest.CaptureFixture[str]) -> None:
    events = Recorded()
    server = await serving("v4_poll", events, idle_timeout=0.2)
    async with server:
        reader, writer = await bounded(asyncio.open_connection("127.0.0.1", port_of(server)))
        assert await bounded(reader.read()) == b""
        await events.wait_for(lambda lines: any(line.startswith("disconnected")
                                                for line in lines))
        writer.close()
    assert capsys.readouterr().err.endswith(": timed out, closing\n")


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[int, Recorded, asyncio.Task[None]]]:
    """asyncio_server.serve on a free port, at most one connection at a time."""
    events = Recorded()
    listener = common.listen("127.0.0.1", 0)
    task = asyncio.create_task(asyncio_server.serve(listener, oracle("v4_select"), events,
                                                    common.Limits(1)))
    # No line to wait for: the listening line is main's (common.serve_on), and
    # the socket already listens, so a client's greeting shows serve has begun.
    yield listener.getsockname()[1], events, task
    if not task.done():
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bounded(task)


@pytest.mark.asyncio
async def test_serve_refuses_beyond_its_limit_and_stops_on_sigterm(
        served: tuple[int, Recorded, asyncio.Task[None]],
        capsys: pytest.CaptureFixture[str]) -> None:
    port, events, task = served
    first_r, first_w = await bounded(asyncio.open_connection("127.0.0.1", port))
    assert await bounded(first_r.readexactly(28)) == b"connect to server successful"
    second_r, second_w = await bounded(asyncio.open_connection("127.0.0.1", port))
    assert await bounded(second_r.read()) == b""  # refused: closed at once
    second_w.close()
    assert "(--max-connections)" in capsys.readouterr().err
    # serve's own handler takes the signal: it set it up before it began to
    # accept, and the first client was greeted.
    os.kill(os.getpid(), signal.SIGTERM)
    await bounded(task)
    assert await bounded(first_r.read()) == b""  # every connection closed on the way out
    first_w.close()
    assert events.lines[-1].startswith("disconnected ")


# -- wireproof's client side ---------------------------------------------------

async def echo_server() -> tuple[asyncio.Server, asyncio.Event]:
    """An echo server, and an event set when a client resets its connection."""
    reset = asyncio.Event()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionResetError:
            reset.set()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0), reset


@pytest.mark.asyncio
async def test_a_session_of_1_mib_echoed_does_not_deadlock() -> None:
    data = os.urandom(1 << 20)
    session = ClientSession("big", (Step("connect"), Step("send", data),
                                    Step("read", count=len(data)), Step("close")))
    server, _ = await echo_server()
    async with server:
        seen = await bounded(run_copy(("127.0.0.1", port_of(server)), session))
    assert [o.outcome for o in seen] == ["ok", "ok", "count", "ok"]
    assert seen[2].data == data


@pytest.mark.asyncio
async def test_reads_end_as_they_should_and_a_reset_is_a_reset() -> None:
    session = ClientSession("ends", (
        Step("connect"), Step("send", b"abc", chunk=1, gap_ms=5), Step("read", count=2),
        Step("read", quiet_ms=100), Step("pause", quiet_ms=10), Step("read", count=1,
                                                                     timeout_ms=100),
        Step("reset")))
    server, reset = await echo_server()
    async with server:
        seen = await bounded(run_copy(("127.0.0.1", port_of(server)), session))
        await bounded(reset.wait())  # the server saw a RST, not a close
    assert [(o.outcome, o.data) for o in seen] == [
        ("ok", None), ("ok", None), ("count", b"ab"), ("quiet", b"c"), ("ok", None),
        ("timeout", b""), ("ok", None)]


@pytest.mark.asyncio
async def test_staggered_copies_connect_one_after_another() -> None:
    order: list[int] = []

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        order.append(writer.get_extra_info("peername")[1])
        writer.write(b"hi")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    session = ClientSession("turns", (Step("connect"), Step("read", until_close=True)),
                            copies=20, stagger_ms=1000)
    async with server:
        copies = await bounded(run_session(("127.0.0.1", port_of(server)), session))
    assert [copy[1] for copy in copies] == [copies[0][1]] * 20
    assert copies[0][1].data == b"hi" and copies[0][1].outcome == "closed"
    assert len(order) == 20


@pytest.mark.asyncio
async def test_together_copies_are_all_connected_before_any_sends() -> None:
    live = 0
    seen_with: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal live
        live += 1
        try:
            await reader.readexactly(5)
            seen_with.append(live)  # connections open when this one sent
            writer.write(b"ok")
            await writer.drain()
            await reader.read()
        finally:
            live -= 1
            writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    session = ClientSession("held", (Step("connect"), Step("send", b"held\n"),
                                     Step("read", count=2), Step("close")),
                            copies=30, stagger_ms=1, together=True)
    async with server:
        copies = await bounded(run_session(("127.0.0.1", port_of(server)), session))
    assert [copy[2].data for copy in copies] == [b"ok"] * 30
    assert seen_with == [30] * 30


@pytest.mark.asyncio
async def test_a_reset_has_reached_the_server_before_the_next_step() -> None:
    # As in "reset before accept": the server accepts only at the resume, and
    # must find the connection already reset, though asyncio closes an aborted
    # socket only in a later turn of its loop.
    found: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def control(op: str) -> str:
            if op == "resume":
                conn, _ = listener.accept()
                with conn:
                    try:
                        conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                        found.append("data")
                    except BlockingIOError:
                        found.append("nothing yet")
                    except ConnectionResetError:
                        found.append("reset")
            return "ok"

        session = ClientSession("reset", (Step("suspend"), Step("connect"), Step("reset"),
                                          Step("resume")))
        seen = await bounded(run_copy(listener.getsockname(), session, control=control))
    assert [(o.step, o.outcome) for o in seen] == [("suspend", "ok"), ("connect", "ok"),
                                                   ("reset", "ok"), ("resume", "ok")]
    assert found == ["reset"]


@pytest.mark.asyncio
async def test_a_quiet_window_the_machine_took_from_the_server_is_waited_again() -> None:
    # The server closes 0.3 s after it accepts; the client reads until quiet
    # for 0.2 s.  On a quiet machine that is "quiet".  If the server spent
    # 0.25 s of the window waiting for a CPU (so says the clock given), the
    # window owes it 0.25 s more, and the close comes in them.
    async def closes_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)  # the server's behaviour under test, not a wait
        writer.close()

    def withheld(*readings: float) -> Callable[[], float]:
        values = list(readings)
        return lambda: values.pop(0) if len(values) > 1 else values[0]

    session = ClientSession("late close", (Step("connect"), Step("read", quiet_ms=200)))
    server = await asyncio.start_server(closes_late, "127.0.0.1", 0)
    async with server:
        address = ("127.0.0.1", port_of(server))
        unhelped = await bounded(run_copy(address, session))
        helped = await bounded(run_copy(address, session, starved=withheld(0.0, 0.25)))
        idle = await bounded(run_copy(address, session, starved=withheld(1.0)))
    assert unhelped[1].outcome == "quiet"
    assert helped[1].outcome == "closed"
    assert idle[1].outcome == "quiet"  # a clock that does not move owes nothing
