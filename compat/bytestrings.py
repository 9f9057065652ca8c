"""Python 2 byte strings on Python 3 sockets: ``sock.send("text")`` works again.

Python 2's ``str`` was bytes: scripts sent text literals, and printed received
data raw.  Python 3 refuses ``str`` on a socket and prints ``bytes`` as
``b'...'``.  This shim models a Python 2 ``str`` as a Python 3 ``str`` with one
code point per byte (Latin-1, :data:`compat.py2str.ENCODING`): ``len`` counts
bytes, ``data[0]`` is a one-byte string, and **every byte value round-trips**.
Text that is not one byte per character (``"中文"``, code points above 255) is
sent as UTF-8, as a Python 2 terminal would have printed it; a surrogate
(``surrogateescape``, as ``sys.argv`` may hold) goes back to its byte.

:class:`socket` is a ``socket.socket`` whose ``send``/``sendall``/``sendto``
accept ``str`` as well as bytes, whose ``recv``/``recvfrom`` return ``str``
and whose ``makefile`` reads and writes ``str``; its ``repr`` is Python 2's,
so logs that print sockets read the same.  Use it on its own in a
hand-migrated program, or call :func:`install` to run a Python 2 program as it
is: then every socket the process creates is one, a ``StreamRequestHandler``'s
``rfile`` and ``wfile`` (and a ``DatagramRequestHandler``'s) deal in ``str``,
standard output and error write each such ``str`` back as its bytes, and
standard input reads its bytes as such ``str``, lines split at ``"\\n"`` alone.

Where it stops: ``recv_into`` fills a bytes buffer, as on Python 3; ``install``
changes every socket in the process, including those of libraries that
expect bytes (asyncio among them), so it is for running a legacy script, not
for new code.
"""

from __future__ import annotations

import codecs
import io
import socket as _socket
import socketserver
import sys
from typing import Any

from compat.py2str import ENCODING

ERRORS = "compat.py2"


def _py2_errors(error: UnicodeError) -> tuple[bytes, int]:
    """What a code point that is not a byte becomes: a surrogate its byte, else UTF-8."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start:error.end]:
        if "\udc80" <= char <= "\udcff":
            out.append(ord(char) - 0xDC00)
        else:
            out += char.encode("utf-8", "surrogatepass")
    return bytes(out), error.end


codecs.register_error(ERRORS, _py2_errors)


def to_bytes(data: Any) -> Any:
    """``str`` as the bytes a Python 2 ``str`` would have been; anything else as is."""
    return data.encode(ENCODING, ERRORS) if isinstance(data, str) else data


def to_str(data: bytes) -> str:
    """Bytes as a Python 2 ``str``: one character per byte."""
    return data.decode(ENCODING)


class Py2File:
    """A binary file (a socket's ``makefile``, a handler's ``rfile``/``wfile``)
    that reads and writes Python 2 strings."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> str:
        return to_str(self._raw.read(size))

    def readline(self, size: int = -1) -> str:
        return to_str(self._raw.readline(size))

    def readlines(self, hint: int = -1) -> list[str]:
        return [to_str(line) for line in self._raw.readlines(hint)]

    def __iter__(self) -> Py2File:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def write(self, data: Any) -> int:
        return int(self._raw.write(to_bytes(data)))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __enter__(self) -> Py2File:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


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

    def makefile(self, mode: str = "r", buffering: int | None = None,  # type: ignore[override]
                 *args: Any, **kwargs: Any) -> Py2File:
        """Python 2's ``makefile(mode, bufsize)``: a file of ``str``, whatever the mode."""
        binary = mode.replace("b", "").replace("t", "") + "b"
        if buffering is not None and buffering < 0:
            buffering = None
        return Py2File(super().makefile(binary, buffering))  # type: ignore[call-overload]

    def accept(self) -> tuple[socket, Any]:
        # socket.socket.accept builds a plain socket.socket; build one of ours.
        fd, address = self._accept()  # type: ignore[attr-defined]
        conn = type(self)(self.family, self.type, self.proto, fileno=fd)
        if _socket.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, address

    def __repr__(self) -> str:
        return f"<socket._socketobject object at {id(self):#x}>"


_saved: dict[str, Any] = {}


def _py2_file(file: Any) -> Py2File:
    # Our socket's makefile gives one already; socketserver's _SocketWriter does not.
    return file if isinstance(file, Py2File) else Py2File(file)


def _stream_setup(handler: socketserver.StreamRequestHandler) -> None:
    _saved["stream_setup"](handler)
    handler.rfile = _py2_file(handler.rfile)  # type: ignore[assignment]
    handler.wfile = _py2_file(handler.wfile)  # type: ignore[assignment]


def _datagram_setup(handler: socketserver.DatagramRequestHandler) -> None:
    handler.packet, handler.socket = handler.request
    handler.rfile = Py2File(io.BytesIO(to_bytes(handler.packet)))  # type: ignore[assignment]
    handler.wfile = Py2File(io.BytesIO())  # type: ignore[assignment]


def _datagram_finish(handler: socketserver.DatagramRequestHandler) -> None:
    handler.socket.sendto(handler.wfile.getvalue(),  # type: ignore[attr-defined]
                          handler.client_address)


def _handle_error(server: socketserver.BaseServer, request: Any, client_address: Any) -> None:
    """Python 2.7's ``BaseServer.handle_error``: the rules and the "Exception
    happened" line on standard output, the traceback on standard error
    (Python 3 writes all of it to standard error)."""
    import traceback

    print("-" * 40)
    print("Exception happened during processing of request from", client_address)
    traceback.print_exc()
    print("-" * 40)


def install() -> None:
    """Give the whole process Python 2 strings on sockets and its standard
    streams; idempotent."""
    if _saved:
        return
    _saved.update(socket=_socket.socket, stream_setup=socketserver.StreamRequestHandler.setup,
                  datagram_setup=socketserver.DatagramRequestHandler.setup,
                  datagram_finish=socketserver.DatagramRequestHandler.finish,
                  handle_error=socketserver.BaseServer.handle_error)
    _socket.socket = socket  # type: ignore[misc]
    socketserver.StreamRequestHandler.setup = _stream_setup  # type: ignore[method-assign,assignment]
    socketserver.DatagramRequestHandler.setup = _datagram_setup  # type: ignore[method-assign,assignment]
    socketserver.DatagramRequestHandler.finish = _datagram_finish  # type: ignore[method-assign,assignment]
    socketserver.BaseServer.handle_error = _handle_error  # type: ignore[method-assign,assignment]
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding=ENCODING, errors=ERRORS)
    # Python 2 read standard input as bytes and split its lines at b"\n" alone,
    # leaving a b"\r\n" as it came.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding=ENCODING, newline="\n")


def uninstall() -> None:
    """Undo :func:`install` (sockets made meanwhile stay what they are)."""
    if not _saved:
        return
    _socket.socket = _saved["socket"]  # type: ignore[misc]
    socketserver.StreamRequestHandler.setup = _saved["stream_setup"]  # type: ignore[method-assign]
    socketserver.DatagramRequestHandler.setup = _saved["datagram_setup"]  # type: ignore[method-assign]
    socketserver.DatagramRequestHandler.finish = _saved["datagram_finish"]  # type: ignore[method-assign]
    socketserver.BaseServer.handle_error = _saved["handle_error"]  # type: ignore[method-assign]
    _saved.clear()
