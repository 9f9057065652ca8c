"""Running client sessions against a server, and what each step observed.

The client side is asyncio: every copy of a session is a task, so fifty
sessions at once cost one thread, and every wait is bounded by
``asyncio.wait_for``.  Each connection reads all the time in the background,
whatever its steps say, so a server that answers while it is still being
sent to (an echo of 1 MiB) can never deadlock with us; a ``read`` step takes
what has arrived since the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from wireproof.events import Address
from wireproof.sessions import ClientSession, Step

CONNECT_TIMEOUT = 5.0

# Seconds, so far, that the server (and the thread reading it) spent runnable
# but waiting for a CPU: what a busy machine takes from a "quiet" window.
Starved = Callable[[], float]
# Below this, what a window lost to the machine is not owed again.
STARVED_ENOUGH = 0.005


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets a RST, not a FIN."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(frozen=True)
class Observed:
    """What one step saw: an outcome and, for a read, the bytes."""

    step: str               # the step's description, or "end"
    outcome: str            # ok, count, closed, reset, quiet, timeout, open, error: ...
    data: bytes | None = None


class Connection:
    """A client connection whose bytes are read in the background."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 starved: Starved | None = None) -> None:
        self.reader, self.writer = reader, writer
        self.starved = starved
        self.buffer = bytearray()
        self.state = "open"          # open, closed (EOF), reset, or error: ...
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while chunk := await self.reader.read(65536):
                self.buffer += chunk
                self._wake()
            self.state = "closed"
        except ConnectionResetError:
            self.state = "reset"
        except OSError as exc:
            self.state = f"error: {type(exc).__name__}"
        self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def _until(self, timeout: float) -> bool:
        """Wait for the next change, at most ``timeout`` s; False if none came."""
        try:
            await asyncio.wait_for(self.changed.wait(), max(timeout, 0))
        except asyncio.TimeoutError:
            return False
        return True

    def take(self, size: int | None = None) -> bytes:
        size = len(self.buffer) if size is None else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read(self, step: Step) -> Observed:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + step.timeout_ms / 1000
        if step.count is not None:
            while len(self.buffer) < step.count and self.state == "open":
                if not await self._until(deadline - loop.time()):
                    return Observed(step.describe(), "timeout", self.take())
            if len(self.buffer) >= step.count:
                return Observed(step.describe(), "count", self.take(step.count))
            return Observed(step.describe(), self.state, self.take())
        if step.until_close:
            while self.state == "open":
                if not await self._until(deadline - loop.time()):
                    return Observed(step.describe(), "timeout", self.take())
            return Observed(step.describe(), self.state, self.take())
        assert step.quiet_ms is not None
        # Quiet means the server had quiet_ms to say something and did not.
        # Time it spent waiting for a CPU (or this thread did, which is when
        # what came is read) was not its to use: that much is waited again,
        # never more than a window (the clock sums many processes), and never
        # past the step's deadline.
        window = owed = step.quiet_ms / 1000
        while self.state == "open":
            if loop.time() >= deadline:
                return Observed(step.describe(), "timeout", self.take())
            before = self.starved() if self.starved is not None else 0.0
            if await self._until(min(owed, deadline - loop.time())):
                owed = window  # something came: a new window
                continue
            owed = min(self.starved() - before, window) if self.starved is not None else 0.0
            if owed < STARVED_ENOUGH or loop.time() >= deadline:
                return Observed(step.describe(), "quiet", self.take())
        return Observed(step.describe(), self.state, self.take())

    async def send(self, step: Step) -> Observed:
        if self.state != "open":
            # Deterministic: writing to a peer already gone only provokes a
            # RST, sooner or later.
            return Observed(step.describe(), f"not sent: the server had {self.state}")
        size = step.chunk or max(len(step.data), 1)
        try:
            for start in range(0, len(step.data), size):
                self.writer.write(step.data[start:start + size])
                await asyncio.wait_for(self.writer.drain(), step.timeout_ms / 1000)
                if step.gap_ms:
                    await asyncio.sleep(step.gap_ms / 1000)
        except asyncio.TimeoutError:
            return Observed(step.describe(), "timeout")
        except OSError as exc:
            return Observed(step.describe(), f"error: {type(exc).__name__}")
        return Observed(step.describe(), "ok")

    def shutdown(self, step: Step) -> Observed:
        try:
            self.writer.write_eof()
        except OSError as exc:
            return Observed(step.describe(), f"error: {type(exc).__name__}")
        return Observed(step.describe(), "ok")

    async def reset(self, step: Step) -> Observed:
        reset(self.writer)
        # abort() closes the socket (sending the RST) only in a later turn of
        # the loop: the next step, a resume say, must come after it.
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), CONNECT_TIMEOUT)
        return Observed(step.describe(), "ok")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), CONNECT_TIMEOUT)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


    async def heard(self, timeout: float) -> None:
        """Wait until the first byte or the end has come, or ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.buffer and self.state == "open" and loop.time() < deadline:
            await self._until(deadline - loop.time())


# A server's process, stopped and continued (``suspend``/``resume``): the
# outcome to observe.  None where the tool did not start every server.
Control = Callable[[str], str]


class Together:
    """A barrier for the copies of a ``together`` session: each arrives once
    its connect has ended, well or not, and those connected wait for all."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.all_here = asyncio.Event()

    def arrive(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.all_here.set()


async def _connect(address: Address, starved: Starved | None = None
                   ) -> Connection | Observed:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*address),
                                                CONNECT_TIMEOUT)
    except asyncio.TimeoutError:
        return Observed("connect", "timeout")
    except OSError as exc:
        return Observed("connect", f"error: {type(exc).__name__}")
    return Connection(reader, writer, starved)


async def run_copy(address: Address, session: ClientSession,
                   after: asyncio.Event | None = None,
                   then: asyncio.Event | None = None,
                   control: Control | None = None,
                   together: Together | None = None,
                   starved: Starved | None = None) -> list[Observed]:
    """One copy of ``session`` against ``address``: an observation per step
    (the N-th for the N-th step), and one for how the connection ended.  It
    connects once ``after`` is set, and sets ``then`` once it has heard from
    the server (see stagger_ms)."""
    seen: list[Observed] = []
    conn: Connection | None = None
    try:
        for step in session.steps:
            if step.op in ("suspend", "resume"):
                seen.append(Observed(step.describe(), control(step.op) if control
                                     else "skipped: a server the tool did not start"))
            elif step.op == "connect":
                try:
                    if after is not None:
                        await after.wait()
                    connected = await _connect(address, starved)
                    if isinstance(connected, Connection) and then is not None:
                        await connected.heard((session.stagger_ms or 0) / 1000)
                finally:
                    if then is not None:
                        then.set()
                    if together is not None:
                        together.arrive()
                if isinstance(connected, Observed):
                    seen.append(connected)
                    return seen
                conn = connected
                seen.append(Observed("connect", "ok"))
                if together is not None:
                    await together.all_here.wait()
            elif conn is None:
                raise AssertionError("sessions.parse_session lets no step before the connect")
            elif step.op == "send":
                seen.append(await conn.send(step))
            elif step.op == "read":
                seen.append(await conn.read(step))
            elif step.op == "pause":
                await asyncio.sleep((step.quiet_ms or 0) / 1000)
                seen.append(Observed(step.describe(), "ok"))
            elif step.op == "shutdown":
                seen.append(conn.shutdown(step))
            elif step.op == "reset":
                seen.append(await conn.reset(step))
            elif step.op == "close":
                seen.append(Observed("close", "ok", conn.take()))
        if conn is not None and not any(step.op in ("reset", "close")
                                        for step in session.steps):
            end = await conn.read(Step("read", quiet_ms=session.end_quiet_ms,
                                       timeout_ms=session.end_quiet_ms * 10))
            seen.append(Observed("end", "open" if end.outcome in ("quiet", "timeout")
                                 else end.outcome, end.data))
        return seen
    finally:
        if conn is not None:
            await conn.close()


async def run_session(address: Address, session: ClientSession,
                      control: Control | None = None,
                      starved: Starved | None = None) -> list[list[Observed]]:
    """Every copy of ``session`` at once; their observations, copy by copy."""
    together = Together(session.copies) if session.together else None
    if session.stagger_ms is None:
        return list(await asyncio.gather(*(run_copy(address, session, control=control,
                                                    together=together, starved=starved)
                                           for _ in range(session.copies))))
    turns = [asyncio.Event() for _ in range(session.copies + 1)]
    turns[0].set()
    return list(await asyncio.gather(*(run_copy(address, session, turns[i], turns[i + 1],
                                                control, together, starved)
                                       for i in range(session.copies))))
