"""The names a translated Python 2 module starts with: Python 2's builtins.

:func:`namespace` gives the globals the launcher runs each module of a
Python 2 script with.  Its ``__builtins__`` is Python 3's plus what Python 2
had under those names (``xrange``, ``unicode``, ``raw_input``, a ``map`` that
returns a list, ``repr`` as Python 2 showed byte strings, ...), and an
``__import__`` that gives the script Python 2's flavour of a few modules
(:data:`MODULES`, :mod:`compat.py2modules`).  Only the script's own code sees
any of it: the standard library and installed packages keep Python 3's
builtins and modules, so nothing else in the process changes.

:func:`install` is the one process-wide change: threads are named as Python 2
named them (``Thread-1``; Python 3.10 added the target's name,
``Thread-1 (serve_forever)``) and have ``isAlive`` again, so that a log of
thread names reads as it did.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from compat import py2modules, py2str

# The script's ``import NAME`` gives this module instead; and for the modules
# of compat.py2modules.NAMES, their Python 2 flavour.
MODULES = {
    "string": "compat.py2string",
}


def _import(name: str, globals: Any = None, locals: Any = None,
            fromlist: Any = (), level: int = 0) -> Any:
    if level == 0:
        if name in MODULES:
            return importlib.import_module(MODULES[name])
        name2 = py2modules.ALIASES.get(name, name)
        if name2 in py2modules.NAMES:
            return py2modules.module(name2)
    return builtins.__import__(name, globals, locals, fromlist, level)


def _listed(function: Callable[..., Iterable[Any]]) -> Callable[..., list[Any]]:
    @functools.wraps(function)
    def as_list(*args: Any) -> list[Any]:
        return list(function(*args))
    return as_list


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _apply(function: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
    return function(*args, **(kwargs or {}))


def _input(prompt: str = "") -> Any:
    return eval(builtins.input(prompt))  # Python 2's input() evaluated what was typed


def _repr(value: Any) -> str:
    """Python 2's ``repr``: bytes above 127 escaped, as ``ascii`` does; and a
    string that cannot be a byte string (a code point above 255) was unicode."""
    text = ascii(value)
    if isinstance(value, str) and not all(c < "\u0100" for c in value):
        return "u" + text
    return text


def _printable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode(py2str.ENCODING)
    if isinstance(value, list | tuple | dict | set | frozenset):
        return ascii(value)  # the repr of each str in it, as Python 2's
    return value


def _print(*args: Any, **kwargs: Any) -> None:
    """``print``: bytes from a Python 3 library written raw, as Python 2's str
    was, and a list or tuple with each string in it shown as Python 2 did."""
    builtins.print(*map(_printable, args), **kwargs)


def _print_statement(*args: Any, end: str = "\n", file: Any = None) -> None:
    """Python 2's ``print`` statement, which fissix made a call: ``print a, b,``
    is ``_print_statement(a, b, end=' ')``.  A space goes *before* an item when
    the last one left the file's ``softspace`` set, so ``print 'a',`` then
    ``print`` writes ``a\n``, and no space follows an item that ended a line.

    A server prints a line per chunk it reads, so this is on its hot path:
    the file's ``softspace`` is read once and written once, when it changes."""
    stream: Any = sys.stdout if file is None else file
    before = soft = getattr(stream, "softspace", 0)
    write = stream.write
    for value in args:
        text = value if type(value) is str else str(_printable(value))
        if soft:
            write(" ")
        write(text)
        # Set after an item, except one ending in whitespace other than a space.
        soft = not text or text[-1] not in "\t\n\r\x0b\x0c"
    if end != " ":
        write(end)
        soft = False
    if soft != before:
        # A file object without a __dict__ keeps no softspace, as in 2.7.
        with contextlib.suppress(AttributeError):
            stream.softspace = int(soft)


PY2_BUILTINS: dict[str, Any] = {
    "__import__": _import,
    "__py2_method__": py2str.method,
    "__py2_print__": _print_statement,
    "apply": _apply,
    "basestring": str,
    "buffer": memoryview,
    "cmp": _cmp,
    "file": open,
    "filter": _listed(filter),
    "input": _input,
    "intern": sys.intern,
    "long": int,
    "map": _listed(map),
    "print": _print,
    "range": _listed(range),
    "raw_input": builtins.input,
    "reduce": functools.reduce,
    "reload": importlib.reload,
    "repr": _repr,
    "StandardError": Exception,
    "unichr": chr,
    "unicode": str,
    "xrange": range,
    "zip": _listed(zip),
}

BUILTINS: dict[str, Any] = {**vars(builtins), **PY2_BUILTINS}


def namespace() -> dict[str, Any]:
    """Globals for one module of a Python 2 script."""
    return {"__builtins__": BUILTINS}


_saved: dict[str, Any] = {}


def install() -> None:
    """Python 2's thread names and ``Thread.isAlive``; idempotent."""
    if _saved:
        return
    _saved["init"] = init = threading.Thread.__init__

    @functools.wraps(init)
    def __init__(self: threading.Thread, group: None = None, target: Any = None,
                 name: Any = None, *args: Any, **kwargs: Any) -> None:
        if name is None and hasattr(threading, "_newname"):
            name = threading._newname("Thread-%d")
        init(self, group, target, name, *args, **kwargs)

    threading.Thread.__init__ = __init__  # type: ignore[method-assign]
    threading.Thread.isAlive = threading.Thread.is_alive  # type: ignore[attr-defined]


def uninstall() -> None:
    """Undo :func:`install`."""
    if _saved:
        threading.Thread.__init__ = _saved.pop("init")  # type: ignore[method-assign]
        del threading.Thread.isAlive  # type: ignore[attr-defined]
