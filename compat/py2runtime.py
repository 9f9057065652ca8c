"""The names a translated Python 2 module starts with: Python 2's builtins.

:func:`namespace` gives the globals the launcher runs each module of a
Python 2 script with.  Its ``__builtins__`` is Python 3's plus what Python 2
had under those names (``xrange``, ``unicode``, ``raw_input``, a ``map`` that
returns a list, ...), and an ``__import__`` that gives the script Python 2's
flavour of a few modules (:data:`MODULES`).  Only the script's own code sees
any of it: the standard library and installed packages keep Python 3's
builtins and modules, so nothing else in the process changes.

:func:`install` is the one process-wide change: threads are named as Python 2
named them (``Thread-1``; Python 3.10 added the target's name,
``Thread-1 (serve_forever)``) and have ``isAlive`` again, so that a log of
thread names reads as it did.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from compat import py2str

# The script's ``import NAME`` gives this module instead.
MODULES = {
    "string": "compat.py2string",
}


def _import(name: str, globals: Any = None, locals: Any = None,
            fromlist: Any = (), level: int = 0) -> Any:
    target = MODULES.get(name) if level == 0 else None
    if target is None:
        return builtins.__import__(name, globals, locals, fromlist, level)
    return importlib.import_module(target)


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


def _print(*args: Any, **kwargs: Any) -> None:
    """``print``, with bytes from a Python 3 library written raw, as Python 2's str was."""
    builtins.print(*(a.decode(py2str.ENCODING) if isinstance(a, bytes | bytearray) else a
                     for a in args), **kwargs)


PY2_BUILTINS: dict[str, Any] = {
    "__import__": _import,
    "__py2_method__": py2str.method,
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
