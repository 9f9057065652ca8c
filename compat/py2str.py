"""Python 2's ``str`` methods, as they behave on a server (the C locale).

A Python 2 ``str`` is modelled on Python 3 as a ``str`` of code points below
256, one per byte (:data:`ENCODING`, Latin-1): ``len`` counts bytes, indexing
gives a one-byte string, and every byte value round-trips.  Python 3's methods
treat the code points 128-255 as letters and spaces (``'\\xe9'.upper()`` is
``'\\xc9'``, ``'\\xa0'`` is whitespace, ``'\\x85'`` ends a line); Python 2's did
not.  :func:`method` gives the Python 2 behaviour for those methods and the
ordinary one for everything else; the translation (:mod:`compat.py2load`)
routes each call of such a method name through it.  Each function here also
works on its own.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from string import ascii_lowercase, ascii_uppercase
from typing import Any

ENCODING = "latin-1"

WHITESPACE = " \t\n\r\x0b\x0c"
_UPPER = str.maketrans(ascii_lowercase, ascii_uppercase)
_LOWER = str.maketrans(ascii_uppercase, ascii_lowercase)
_SWAP = str.maketrans(ascii_lowercase + ascii_uppercase, ascii_uppercase + ascii_lowercase)
_SPACES = re.compile("[ \t\n\r\x0b\x0c]+")
_WORDS = re.compile("[^ \t\n\r\x0b\x0c]+")
_LETTERS = re.compile("[A-Za-z]+")
_LINES = re.compile("[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
# Python 2's bytes-to-bytes codecs, used as str.encode('hex') and the like.
_BYTE_CODECS = {"hex", "hex_codec", "base64", "base_64", "base64_codec", "zlib", "zip",
                "zlib_codec", "bz2", "bz2_codec", "uu", "uu_codec", "quopri",
                "quotedprintable", "quopri_codec"}


def upper(s: str) -> str:
    return s.translate(_UPPER)


def lower(s: str) -> str:
    return s.translate(_LOWER)


def swapcase(s: str) -> str:
    return s.translate(_SWAP)


def capitalize(s: str) -> str:
    return upper(s[:1]) + lower(s[1:])


def title(s: str) -> str:
    return _LETTERS.sub(lambda m: capitalize(m.group()), s)


def strip(s: str, chars: str | None = None) -> str:
    return s.strip(WHITESPACE if chars is None else chars)


def lstrip(s: str, chars: str | None = None) -> str:
    return s.lstrip(WHITESPACE if chars is None else chars)


def rstrip(s: str, chars: str | None = None) -> str:
    return s.rstrip(WHITESPACE if chars is None else chars)


def split(s: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    if sep is not None:
        return s.split(sep, maxsplit)
    if maxsplit < 0:
        return _WORDS.findall(s)
    parts = []
    rest = lstrip(s)
    while maxsplit and rest:
        gap = _SPACES.search(rest)
        if gap is None:
            break
        parts.append(rest[:gap.start()])
        rest = rest[gap.end():]
        maxsplit -= 1
    if rest:
        parts.append(rest)
    return parts


def rsplit(s: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    if sep is not None:
        return s.rsplit(sep, maxsplit)
    return [part[::-1] for part in reversed(split(s[::-1], None, maxsplit))]


def splitlines(s: str, keepends: bool = False) -> list[str]:
    lines = _LINES.findall(s)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def _every(s: str, chars: str) -> bool:
    return bool(s) and all(c in chars for c in s)


def isalpha(s: str) -> bool:
    return _every(s, ascii_lowercase + ascii_uppercase)


def isdigit(s: str) -> bool:
    return _every(s, "0123456789")


def isalnum(s: str) -> bool:
    return _every(s, ascii_lowercase + ascii_uppercase + "0123456789")


def isspace(s: str) -> bool:
    return _every(s, WHITESPACE)


def isupper(s: str) -> bool:
    return any(c in ascii_uppercase for c in s) and not any(c in ascii_lowercase for c in s)


def islower(s: str) -> bool:
    return any(c in ascii_lowercase for c in s) and not any(c in ascii_uppercase for c in s)


def istitle(s: str) -> bool:
    return bool(_LETTERS.search(s)) and title(s) == s


@functools.lru_cache(maxsize=16)
def _table(table: str) -> dict[int, str]:
    if len(table) != 256:
        raise ValueError("translation table must be 256 characters long")
    return {i: table[i] for i in range(256) if table[i] != chr(i)}


def translate(s: str, table: Any, deletechars: str = "") -> str:
    """``str.translate(table, deletechars)`` with a 256-character table or None,
    as Python 2's; a dict table is Python 3's (``unicode.translate``)."""
    if isinstance(table, dict):
        return s.translate(table)
    if deletechars:
        s = s.translate(dict.fromkeys(map(ord, deletechars)))
    return s if table is None else s.translate(_table(table))


def _byte_codec(encoding: str) -> bool:
    return codecs.lookup(encoding).name.replace("-", "_") in _BYTE_CODECS


def _transcode(codec: Callable[[Any, str, str], Any], s: str, encoding: str,
               errors: str) -> str:
    result: bytes = codec(s.encode(ENCODING), encoding, errors)
    return result.decode(ENCODING)


def encode(s: str, encoding: str = "ascii", errors: str = "strict") -> str:
    """Python 2's ``encode``: bytes (as a Python 2 ``str``) from text; ``'hex'``,
    ``'base64'`` and the other byte codecs work on the bytes themselves."""
    if _byte_codec(encoding):
        return _transcode(codecs.encode, s, encoding, errors)
    return s.encode(encoding, errors).decode(ENCODING)


def decode(s: str, encoding: str = "ascii", errors: str = "strict") -> str:
    """Python 2's ``decode``: text from the bytes a Python 2 ``str`` holds."""
    if _byte_codec(encoding):
        return _transcode(codecs.decode, s, encoding, errors)
    return s.encode(ENCODING).decode(encoding, errors)


METHODS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    upper, lower, swapcase, capitalize, title, strip, lstrip, rstrip, split, rsplit,
    splitlines, isalpha, isdigit, isalnum, isspace, isupper, islower, istitle, translate,
    encode, decode)}


def method(obj: Any, name: str) -> Callable[..., Any]:
    """``obj.name``, with Python 2's behaviour if ``obj`` is a ``str``
    (which gains back the ``decode`` Python 2's had)."""
    if isinstance(obj, str) and name in METHODS:
        return functools.partial(METHODS[name], obj)
    return getattr(obj, name)  # type: ignore[no-any-return]
