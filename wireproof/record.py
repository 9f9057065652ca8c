"""``record``: a transparent recording proxy that turns real traffic into sessions.

Clients connect to ``--listen``; each connection is forwarded both ways to
``--upstream`` (the primary), byte for byte, and written to ``--out`` as one
session of the sessions format (:mod:`wireproof.sessions`): what the client
sent, a ``pause`` for each gap of a millisecond or more before it sent, a
``read`` of exactly the bytes the server answered with, and how it ended (a
``shutdown`` where the client half-closed, a ``reset`` where it reset, a
``read`` until close where the server closed first).  The file is rewritten
after each connection, so it is whole whenever the proxy stops: at
SIGINT/SIGTERM or after ``--count`` connections.  ``diff --sessions FILE``
replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wireproof.events import Address
from wireproof.sessions import ClientSession, Step, dump

# Gaps shorter than this are the proxy's own scheduling, not the client's.
GAP_MS = 1


@dataclass
class Recording:
    """What crossed one connection, in order: (time, direction, bytes or an end)."""

    started: float
    events: list[tuple[float, str, bytes]] = field(default_factory=list)

    def session(self, name: str) -> ClientSession:
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


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Recorder:
    def __init__(self, upstream: Address, out: Path, count: int | None) -> None:
        self.upstream, self.out, self.count = upstream, out, count
        self.sessions: list[ClientSession] = []
        self.done = asyncio.Event()

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
            _reset(sink)
            _reset(other)
        except OSError:
            # The far side is gone; its own pump records how.
            other.transport.abort()

    async def handle(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        recording = Recording(loop.time())
        peer = client_w.get_extra_info("peername")
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError as exc:
            print(f"record: {peer[0]}:{peer[1]}: upstream {self.upstream[0]}:"
                  f"{self.upstream[1]}: {exc.strerror or exc}", file=sys.stderr, flush=True)
            _reset(client_w)
            return
        try:
            await asyncio.gather(
                self.pump(recording, "client", client_r, server_w, client_w),
                self.pump(recording, "server", server_r, client_w, server_w))
        finally:
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        self.sessions.append(recording.session(f"connection {len(self.sessions) + 1} "
                                               f"from {peer[0]}:{peer[1]}"))
        dump(self.sessions, self.out)
        print(f"recorded connection {len(self.sessions)}: {len(recording.events)} events",
              flush=True)
        if self.count is not None and len(self.sessions) >= self.count:
            self.done.set()


async def serve(listen: Address, upstream: Address, out: Path, count: int | None) -> None:
    recorder = Recorder(upstream, out, count)
    server = await asyncio.start_server(recorder.handle, *listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await recorder.done.wait()
