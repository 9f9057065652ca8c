"""Python 2's flavour of the modules whose functions take or give byte strings.

On Python 2, ``struct.pack('2s', 'ab')``, ``binascii.hexlify(data)`` and
``hashlib.md5(data).digest()`` took and gave ``str``; on Python 3 they take
and give ``bytes``.  :func:`module` gives a stand-in for such a module: every
name is the real module's, except the functions that deal in byte strings,
which here take Python 2 strings (:mod:`compat.py2str`'s one code point per
byte) and give them back.  ``asynchat.async_chat`` and
``asyncore.dispatcher_with_send`` take ``str`` too.  The launcher gives these
to the script's own ``import`` only (:mod:`compat.py2runtime`); the real
modules are untouched.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from compat.bytestrings import to_bytes, to_str


def _to_bytes(value: Any) -> Any:
    return to_bytes(value)


def _to_str(value: Any) -> Any:
    if isinstance(value, bytes):
        return to_str(value)
    if isinstance(value, tuple):
        return tuple(_to_str(v) for v in value)
    if isinstance(value, list):
        return [_to_str(v) for v in value]
    return value


def bytes_in_str_out(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` taking Python 2 strings for bytes, and giving its bytes as such."""
    @functools.wraps(function)
    def py2(*args: Any, **kwargs: Any) -> Any:
        return _to_str(function(*map(_to_bytes, args),
                                **{k: _to_bytes(v) for k, v in kwargs.items()}))
    return py2


def _signed(function: Callable[..., int]) -> Callable[..., int]:
    """Python 2's crc32 and adler32 were signed 32-bit numbers."""
    @functools.wraps(function)
    def py2(*args: Any) -> int:
        value = function(*map(_to_bytes, args))
        return value - (1 << 32) if value >= 1 << 31 else value
    return py2


class _StandIn(ModuleType):
    def __init__(self, real: ModuleType, overrides: dict[str, Any]) -> None:
        super().__init__(real.__name__, real.__doc__)
        self.__dict__.update(overrides)
        self._real = real
        if hasattr(real, "__all__"):
            self.__all__ = list(real.__all__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._real)) | set(self.__dict__))


def _converted(real: ModuleType, names: list[str],
               wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = bytes_in_str_out
               ) -> dict[str, Any]:
    return {name: wrap(getattr(real, name)) for name in names if hasattr(real, name)}


def _struct(real: ModuleType) -> dict[str, Any]:
    class Struct(real.Struct):  # type: ignore[name-defined,misc]
        pack = bytes_in_str_out(real.Struct.pack)
        unpack = bytes_in_str_out(real.Struct.unpack)
        unpack_from = bytes_in_str_out(real.Struct.unpack_from)
        pack_into = bytes_in_str_out(real.Struct.pack_into)

    return {"Struct": Struct, **_converted(real, ["pack", "unpack", "unpack_from",
                                                  "pack_into", "calcsize"])}


def _binascii(real: ModuleType) -> dict[str, Any]:
    names = [n for n in dir(real) if n.startswith(("a2b_", "b2a_")) or n in ("hexlify",
                                                                            "unhexlify")]
    return {**_converted(real, names), **_converted(real, ["crc32"], _signed),
            "crc_hqx": bytes_in_str_out(real.crc_hqx)}


def _zlib(real: ModuleType) -> dict[str, Any]:
    return {**_converted(real, ["compress", "decompress"]),
            **_converted(real, ["crc32", "adler32"], _signed)}


def _base64(real: ModuleType) -> dict[str, Any]:
    # encode(input, output) and decode work on files; the rest on strings.
    names = [n for n in real.__all__ if n not in ("encode", "decode")]
    return {**_converted(real, names), "encodestring": bytes_in_str_out(real.encodebytes),
            "decodestring": bytes_in_str_out(real.decodebytes)}


class _Hash:
    """A hash object whose ``digest`` is a Python 2 string and ``update`` takes one."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def update(self, data: Any) -> None:
        self._real.update(to_bytes(data))

    def digest(self) -> str:
        return to_str(self._real.digest())

    def copy(self) -> _Hash:
        return _Hash(self._real.copy())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _hashlib(real: ModuleType) -> dict[str, Any]:
    def constructor(make: Callable[..., Any]) -> Callable[..., _Hash]:
        @functools.wraps(make)
        def py2(*args: Any, **kwargs: Any) -> _Hash:
            return _Hash(make(*map(_to_bytes, args), **kwargs))
        return py2

    return {name: constructor(getattr(real, name))
            for name in ["new", *real.algorithms_guaranteed] if hasattr(real, name)}


def _pickle(real: ModuleType) -> dict[str, Any]:
    def dumps(obj: Any, protocol: int = 0) -> str:
        return to_str(real.dumps(obj, protocol))

    def loads(data: Any) -> Any:
        # A Python 2 peer's str comes back as a Python 2 str here: Latin-1.
        return real.loads(to_bytes(data), encoding="latin-1")

    return {"dumps": dumps, "loads": loads}


def _str_out(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def py2(*args: Any) -> Any:
        return _to_str(function(*args))
    return py2


def _socket(real: ModuleType) -> dict[str, Any]:
    # An address in text is text on both Pythons; packed, it is a byte string.
    return {**_converted(real, ["inet_aton", "inet_pton"], _str_out),
            **_converted(real, ["inet_ntoa", "inet_ntop"])}


def _asyncore(real: ModuleType) -> dict[str, Any]:
    class dispatcher(real.dispatcher):  # type: ignore[name-defined,misc]
        def recv(self, buffer_size: int) -> Any:
            # Python 3's returns b'' at the end whatever the socket gives.
            return _to_str(super().recv(buffer_size))

    class dispatcher_with_send(dispatcher, real.dispatcher_with_send):  # type: ignore[name-defined,misc]
        def send(self, data: Any) -> None:
            real.dispatcher_with_send.send(self, to_bytes(data))

    return {"dispatcher": dispatcher, "dispatcher_with_send": dispatcher_with_send}


def _asynchat(real: ModuleType) -> dict[str, Any]:
    from compat.py2str import ENCODING

    class async_chat(real.async_chat):  # type: ignore[name-defined,misc]
        """Bytes inside, as asynchat needs; Python 2 strings to and from the subclass."""

        # asynchat's own switch: a str terminator or producer output is encoded.
        use_encoding = True
        encoding = ENCODING

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # asynchat calls self.collect_incoming_data with bytes: give the subclass str.
            collect = getattr(type(self), "collect_incoming_data")  # noqa: B009
            self.collect_incoming_data = lambda data: collect(self, _to_str(data))

        def recv(self, buffer_size: int) -> bytes:
            return to_bytes(super().recv(buffer_size))  # type: ignore[no-any-return]

        def push(self, data: Any) -> None:
            super().push(to_bytes(data))

        def _get_data(self) -> str:
            data = "".join(self.incoming)
            del self.incoming[:]
            return data

    class simple_producer(real.simple_producer):  # type: ignore[name-defined,misc]
        def more(self) -> Any:
            # Python 3's ends with b'' whatever it was given.
            return _to_str(super().more())

    return {"async_chat": async_chat, "simple_producer": simple_producer}


class _ByteStream:
    """A Python 2 file seen by a codec, which reads and writes bytes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, *args: Any) -> bytes:
        return to_bytes(self._stream.read(*args))  # type: ignore[no-any-return]

    def readline(self, *args: Any) -> bytes:
        return to_bytes(self._stream.readline(*args))  # type: ignore[no-any-return]

    def write(self, data: bytes) -> Any:
        return self._stream.write(to_str(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _codecs(real: ModuleType) -> dict[str, Any]:
    def getreader(encoding: str) -> Callable[..., Any]:
        reader = real.getreader(encoding)
        return lambda stream, errors="strict": reader(_ByteStream(stream), errors)

    def getwriter(encoding: str) -> Callable[..., Any]:
        writer = real.getwriter(encoding)
        return lambda stream, errors="strict": writer(_ByteStream(stream), errors)

    return {"getreader": getreader, "getwriter": getwriter}


_BUILDERS: dict[str, Callable[[ModuleType], dict[str, Any]]] = {
    "struct": _struct, "binascii": _binascii, "zlib": _zlib, "base64": _base64,
    "hashlib": _hashlib, "pickle": _pickle, "socket": _socket, "asyncore": _asyncore,
    "asynchat": _asynchat, "codecs": _codecs,
}

NAMES = frozenset(_BUILDERS)
# Python 2 names of the same modules.
ALIASES = {"cPickle": "pickle"}
_made: dict[str, ModuleType] = {}


def module(name: str) -> ModuleType:
    """The Python 2 flavour of module ``name`` (one of :data:`NAMES`)."""
    if name not in _made:
        real = importlib.import_module(name)
        _made[name] = _StandIn(real, _BUILDERS[name](real))
        sys.modules[f"compat.py2modules.{name}"] = _made[name]
    return _made[name]
