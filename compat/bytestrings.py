"""Python 2 byte strings on Python 3 sockets: ``sock.send("text")`` works again.

Python 2's ``str`` was bytes: scripts sent text literals, and printed received
data raw.  Python 3 refuses ``str`` on a socket and prints ``bytes`` as
``b'...'``.  This shim models a Python 2 ``str`` as text decoded from bytes
with :data:`ENCODING` (UTF-8, as Python 2 source literals usually were) and
``surrogateescape``, so that **every byte value round-trips**: bytes received,
printed and sent again come out exactly as they went in.

:class:`socket` is a ``socket.socket`` whose ``send``/``sendall``/``sendto``
accept ``str`` as well as bytes and whose ``recv``/``recvfrom`` return ``str``;
its ``repr`` is Python 2's, so logs that print sockets read the same.  Use it
on its own in a hand-migrated program, or call :func:`install` to run a
Python 2 program as it is: then every socket the process creates is one, a
``StreamRequestHandler``'s ``wfile`` accepts ``str``, and standard output
writes escaped bytes back raw.

Where it stops: ``recv_into``, ``makefile`` and a handler's ``rfile`` still
deal in bytes; ``install`` changes every socket in the process, including
those of libraries that expect bytes (asyncio among them), so it is for
running a legacy script, not for new code.
"""

from __future__ import annotations

import socket as _socket
import socketserver
import sys
from typing import Any

ENCODING = "utf-8"
ERRORS = "surrogateescape"


def to_bytes(data: Any) -> Any:
    """``str`` as the bytes a Python 2 ``str`` would have been; anything else as is."""
    return data.encode(ENCODING, ERRORS) if isinstance(data, str) else data


def to_str(data: bytes) -> str:
    """Bytes as a Python 2 ``str``: text that encodes back to exactly these bytes."""
    return data.decode(ENCODING, ERRORS)


class socket(_socket.socket):
    """A socket that takes and gives Python 2 strings."""

    def send(self, data: Any, flags: int = 0) -> int:
        return super().send(to_bytes(data), flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        super().sendall(to_bytes(data), flags)

    def sendto(self, data: Any, *args: Any) -> int:
        return super().sendto(to_bytes(data), *args)

    def recv(self, bufsize: int, flags: int = 0) -> str:  # type: ignore[override]
        return to_str(super().recv(bufsize, flags))

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[str, Any]:  # type: ignore[override]
        data, address = super().recvfrom(bufsize, flags)
        return to_str(data), address

    def accept(self) -> tuple[socket, Any]:
        # socket.socket.accept builds a plain socket.socket; build one of ours.
        fd, address = self._accept()  # type: ignore[attr-defined]
        conn = type(self)(self.family, self.type, self.proto, fileno=fd)
        if _socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, address

    def __repr__(self) -> str:
        return f"<socket._socketobject object at {id(self):#x}>"


class _Py2Writer:
    """A handler's ``wfile`` that also takes ``str``."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def write(self, data: Any) -> int:
        return int(self._raw.write(to_bytes(data)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


_saved: dict[str, Any] = {}


def _setup(handler: socketserver.StreamRequestHandler) -> None:
    _saved["setup"](handler)
    handler.wfile = _Py2Writer(handler.wfile)  # type: ignore[assignment]


def install() -> None:
    """Give the whole process Python 2 strings on sockets; idempotent."""
    if _saved:
        return
    _saved.update(socket=_socket.socket, setup=socketserver.StreamRequestHandler.setup)
    _socket.socket = socket  # type: ignore[misc]
    socketserver.StreamRequestHandler.setup = _setup  # type: ignore[method-assign,assignment]
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding=ENCODING, errors=ERRORS)


def uninstall() -> None:
    """Undo :func:`install` (sockets made meanwhile stay what they are)."""
    if not _saved:
        return
    _socket.socket = _saved["socket"]  # type: ignore[misc]
    socketserver.StreamRequestHandler.setup = _saved["setup"]  # type: ignore[method-assign]
    _saved.clear()
