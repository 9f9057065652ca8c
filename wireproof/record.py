"""``record``: a transparent recording proxy that turns real traffic into sessions.

Clients connect to ``--listen``; each connection is forwarded both ways to
``--upstream`` (the primary), byte for byte, and written to ``--out`` as one
session of the sessions format (:mod:`wireproof.sessions`): what the client
sent, a ``pause`` for each gap of a millisecond or more before it sent, a
``read`` of exactly the bytes the server answered with, and how it ended (a
``shutdown`` where the client half-closed, a ``reset`` where it reset, a
``read`` until close where the server closed first).  The file is rewritten
after each connection, so it is whole whenever the proxy stops: at
SIGINT/SIGTERM, after ``--count`` connections, or once the ``--client``
command it was given (run with ``{port}`` replaced by the proxy's port) has
exited.  A connection still open when it stops is kept as closed by its
client then.  ``diff --sessions FILE`` replays the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wireproof.events import Address
from wireproof.procs import WAIT
from wireproof.replay import reset
from wireproof.sessions import ClientSession, Step, dump

# Gaps shorter than this are the proxy's own scheduling, not the client's.
GAP_MS = 1


@dataclass
class Recording:
    """What crossed one connection, in order: (time, direction, bytes or an end)."""

    started: float
    name: str
    events: list[tuple[float, str, bytes]] = field(default_factory=list)
    client_done: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def session(self) -> ClientSession:
        name = self.name
        steps = [Step("connect")]
        last = self.started
        pending_read = 0
        for when, kind, data in self.events:
            if kind != "server" and pending_read:
                steps.append(Step("read", count=pending_read))
                pending_read = 0
            if kind == "server":
                pending_read += len(data)
            elif kind == "client":
                gap = round((when - last) * 1000)
                if gap >= GAP_MS:
                    steps.append(Step("pause", quiet_ms=gap))
                if steps[-1].op == "send" and gap < GAP_MS:
                    steps[-1] = Step("send", steps[-1].data + data)
                else:
                    steps.append(Step("send", data))
            elif kind == "client-eof":
                steps.append(Step("shutdown"))
            elif kind == "client-reset":
                steps.append(Step("reset"))
                return ClientSession(name, tuple(steps))
            elif kind in ("server-eof", "server-reset"):
                steps.append(Step("read", until_close=True))
            last = when
        if pending_read:
            steps.append(Step("read", count=pending_read))
        steps.append(Step("close"))
        return ClientSession(name, tuple(steps))


class Recorder:
    def __init__(self, upstream: Address, out: Path, count: int | None) -> None:
        self.upstream, self.out, self.count = upstream, out, count
        out.parent.mkdir(parents=True, exist_ok=True)
        self.sessions: list[ClientSession] = []
        self.active: list[Recording] = []
        self.connections = 0
        self.done = asyncio.Event()

    def keep(self, recording: Recording) -> None:
        self.sessions.append(recording.session())
        dump(self.sessions, self.out)
        print(f"recorded {recording.name}: {len(recording.events)} events", flush=True)
        if self.count is not None and len(self.sessions) >= self.count:
            self.done.set()

    async def finish(self) -> None:
        """Keep the connections still open, as closed by their clients now: a
        server that never closes after its client did (as the v4 originals)
        would otherwise keep them out of the recording for ever.  Then end
        them, and their handlers."""
        still, self.active = self.active, []
        for recording in still:
            self.keep(recording)
            for writer in recording.writers:
                writer.transport.abort()
        tasks = [r.task for r in still if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=WAIT)

    async def pump(self, recording: Recording, side: str, source: asyncio.StreamReader,
                   sink: asyncio.StreamWriter, other: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while chunk := await source.read(65536):
                recording.events.append((loop.time(), side, chunk))
                sink.write(chunk)
                await sink.drain()
            recording.events.append((loop.time(), f"{side}-eof", b""))
            if sink.can_write_eof():
                sink.write_eof()
        except ConnectionResetError:
            recording.events.append((loop.time(), f"{side}-reset", b""))
            reset(sink)
            reset(other)
        except OSError:
            # The far side is gone; its own pump records how.
            other.transport.abort()
        finally:
            if side == "client":
                recording.client_done.set()

    async def handle(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        peer = client_w.get_extra_info("peername")
        self.connections += 1
        recording = Recording(loop.time(), f"connection {self.connections} from "
                                           f"{peer[0]}:{peer[1]}")
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError as exc:
            print(f"record: {peer[0]}:{peer[1]}: upstream {self.upstream[0]}:"
                  f"{self.upstream[1]}: {exc.strerror or exc}", file=sys.stderr, flush=True)
            reset(client_w)
            return
        recording.writers = [client_w, server_w]
        recording.task = asyncio.current_task()
        self.active.append(recording)
        try:
            await asyncio.gather(
                self.pump(recording, "client", client_r, server_w, client_w),
                self.pump(recording, "server", server_r, client_w, server_w))
        finally:
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        if recording in self.active:
            self.active.remove(recording)
            self.keep(recording)


async def run_client(command: str, port: int) -> int | None:
    """Run the client command against the proxy; its exit status (None if it
    ran past WAIT twice over and was killed)."""
    argv = shlex.split(command.replace("{port}", str(port)))
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
    except OSError as exc:
        raise ClientError(f"the client did not start: {argv[0]}: {exc.strerror}") from None
    try:
        return await asyncio.wait_for(proc.wait(), 2 * WAIT)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None


class ClientError(Exception):
    """The --client command could not be run; the message is one line."""


async def serve(listen: Address, upstream: Address, out: Path, count: int | None,
                client: str | None = None) -> int | None:
    """Record until ``count`` connections, or (``client``) until the client
    command has exited; the client's exit status, if there was one."""
    recorder = Recorder(upstream, out, count)
    server = await asyncio.start_server(recorder.handle, *listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    status = None
    try:
        async with server:
            if client is None:
                await recorder.done.wait()
            else:
                status = await run_client(client, port)
                # Its sockets closed when it exited: let the proxy see that.
                pending = [r.client_done.wait() for r in recorder.active]
                if pending:
                    await asyncio.wait_for(asyncio.gather(*pending), WAIT)
                if status is None:
                    print(f"record: the client ran past {2 * WAIT:g} s and was killed",
                          file=sys.stderr, flush=True)
    finally:
        await recorder.finish()
    return status
