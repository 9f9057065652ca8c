"""Python 2's ``string`` module: Python 3's, plus the functions and constants it lost.

``import string; string.atoi("42")`` and ``string.join(words, ",")`` work again.
The script's ``import string`` gets this module (through the launcher's
namespace, :mod:`compat.py2runtime`); nothing else in the process sees it.
The case functions and constants are those of Python 2 in the C locale, which
is how a server runs: ASCII letters only.
"""

from __future__ import annotations

from string import *  # noqa: F403  (everything Python 3 kept)
from string import ascii_letters, ascii_lowercase, ascii_uppercase
from typing import Any

from compat.py2str import lower, method, swapcase, upper

__all__ = [
    "atof", "atoi", "atol", "capitalize", "center", "count", "expandtabs", "find", "index",
    "join", "joinfields", "letters", "ljust", "lower", "lowercase", "lstrip", "maketrans",
    "replace", "rfind", "rindex", "rjust", "rsplit", "rstrip", "split", "splitfields",
    "strip", "swapcase", "translate", "upper", "uppercase", "zfill",
]

letters = ascii_letters
lowercase = ascii_lowercase
uppercase = ascii_uppercase


def atof(s: str) -> float:
    return float(s)


def atoi(s: str, base: int = 10) -> int:
    return int(s, base)


atol = atoi


def capitalize(s: str) -> str:
    return upper(s[:1]) + lower(s[1:])


def expandtabs(s: str, tabsize: int = 8) -> str:
    return s.expandtabs(tabsize)


def find(s: str, *args: Any) -> int:
    return s.find(*args)


def rfind(s: str, *args: Any) -> int:
    return s.rfind(*args)


def index(s: str, *args: Any) -> int:
    return s.index(*args)


def rindex(s: str, *args: Any) -> int:
    return s.rindex(*args)


def count(s: str, *args: Any) -> int:
    return s.count(*args)


def split(s: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    return list(method(s, "split")(sep, maxsplit))


splitfields = split


def rsplit(s: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    return list(method(s, "rsplit")(sep, maxsplit))


def join(words: Any, sep: str = " ") -> str:
    return sep.join(words)


joinfields = join


def strip(s: str, chars: str | None = None) -> str:
    return str(method(s, "strip")(chars))


def lstrip(s: str, chars: str | None = None) -> str:
    return str(method(s, "lstrip")(chars))


def rstrip(s: str, chars: str | None = None) -> str:
    return str(method(s, "rstrip")(chars))


def ljust(s: str, width: int, *args: str) -> str:
    return s.ljust(width, *args)


def rjust(s: str, width: int, *args: str) -> str:
    return s.rjust(width, *args)


def center(s: str, width: int, *args: str) -> str:
    return s.center(width, *args)


def zfill(x: Any, width: int) -> str:
    return (x if isinstance(x, str) else repr(x)).zfill(width)


def replace(s: str, old: str, new: str, maxreplace: int = -1) -> str:
    return s.replace(old, new, maxreplace)


def maketrans(fromstr: str, tostr: str) -> str:
    """A 256-character table, as Python 2's ``str.translate`` takes."""
    if len(fromstr) != len(tostr):
        raise ValueError("maketrans arguments must have same length")
    table = [chr(i) for i in range(256)]
    for a, b in zip(fromstr, tostr, strict=True):
        table[ord(a)] = b
    return "".join(table)


def translate(s: str, table: str | None, deletions: str = "") -> str:
    return str(method(s, "translate")(table, deletions))
