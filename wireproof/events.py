"""Reading a server's events from its standard output, modern or legacy.

Modern ports print one event per line::

    connected 127.0.0.1:40000
    received 127.0.0.1:40000 b'hello'
    disconnected 127.0.0.1:40000

The legacy originals print whatever their ``print`` statements said: the peer
address as a Python tuple, received data raw, followed by the newline that
``print`` adds, and (``v4_select``) debug lines of the loop's state.  Raw data
carries no address, and a chunk that contains a newline spans several lines,
so each data line becomes one ``received`` event without an address, and
:func:`printed_matches` compares such output with what was sent.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

Address = tuple[str, int]


@dataclass(frozen=True)
class Event:
    kind: str                      # connected, received, disconnected, or unparsed
    address: Address | None = None
    data: bytes | None = None
    raw: bytes = b""

    def __str__(self) -> str:
        return self.raw.decode("utf-8", "backslashreplace")


_MODERN_ADDRESS = re.compile(rb"^(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:\[\]]+)):(?P<port>\d+)$")


def _modern_address(text: bytes) -> Address | None:
    match = _MODERN_ADDRESS.match(text)
    if not match:
        return None
    return (match["v6"] or match["v4"]).decode(), int(match["port"])


def parse_modern(line: bytes) -> Event:
    kind, _, rest = line.partition(b" ")
    if kind in (b"connected", b"disconnected"):
        address = _modern_address(rest)
        if address:
            return Event(kind.decode(), address, raw=line)
    elif kind == b"received":
        where, _, literal = rest.partition(b" ")
        address = _modern_address(where)
        try:
            data = ast.literal_eval(literal.decode("ascii"))
        except (ValueError, SyntaxError, UnicodeDecodeError):
            data = None
        if address and isinstance(data, bytes):
            return Event("received", address, data, line)
    return Event("unparsed", raw=line)


_TUPLE = rb"\('(?P<host>[^']*)', (?P<port>\d+)\)"
_LEGACY_CONNECTED = re.compile(
    rb"^(?:got conn from|got connectino from|Got connection from|got connection from) +"
    + _TUPLE + rb"$")
_LEGACY_DISCONNECTED = re.compile(rb"^" + _TUPLE + rb" disconnected$")
# v4_select's debug prints of its own state, and the banner around a handler's
# traceback that Python 2's SocketServer prints to standard output: not events.
_LEGACY_NOISE = re.compile(rb"^(?:s <socket\.|inputs  \[|rs  \d+ \[|r,c  <socket\.|-{40}$"
                           rb"|Exception happened during processing of request from )")


def parse_legacy(line: bytes) -> Event | None:
    """The event a legacy line reports; None for v4_select's debug lines."""
    for kind, pattern in (("connected", _LEGACY_CONNECTED),
                          ("disconnected", _LEGACY_DISCONNECTED)):
        match = pattern.match(line)
        if match:
            return Event(kind, (match["host"].decode(), int(match["port"])), raw=line)
    if _LEGACY_NOISE.match(line):
        return None
    return Event("received", None, line, line)


def printed_matches(sent: bytes, events: list[Event], legacy: bool) -> bool:
    """Whether the ``received`` events carry exactly ``sent``, in order.

    Modern events carry exact chunks: their concatenation must equal ``sent``.
    A legacy server printed each chunk followed by a newline, so its data
    lines, rejoined with newlines, must be ``sent`` with newlines inserted and
    nothing else changed: greedy matching decides that exactly, since a
    newline that could be either payload or ``print``'s is interchangeable.
    """
    chunks = [event.data or b"" for event in events if event.kind == "received"]
    if not legacy:
        return b"".join(chunks) == sent
    printed = b"".join(chunk + b"\n" for chunk in chunks)
    i = 0
    for byte in printed:
        if i < len(sent) and sent[i] == byte:
            i += 1
        elif byte != ord("\n"):
            return False
    return i == len(sent)
