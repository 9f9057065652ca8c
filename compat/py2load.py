"""Load Python 2 source on Python 3: the script, and the modules of its own tree.

:func:`code_for` turns a Python 2 file into a code object: its syntax
translated (:mod:`compat.translate`), compiled, and kept in a cache so that a
second run neither translates nor imports the translator.  :func:`install`
puts a finder first on ``sys.meta_path`` that loads, this way, every module
found in the script's directory (its "tree"): ``import helper`` of a
``helper.py`` beside the script works though ``helper.py`` is Python 2.  The
standard library and installed packages are never translated, and nothing
is written beside the user's files (no ``__pycache__``).

The cache lives in ``$COMPAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/socket-models/
compat``, else ``~/.cache/socket-models/compat``; an entry is keyed by the
file's path, modification time and size, this Python's bytecode tag and the
translator's own files, so editing either makes a new one.  A cache that
cannot be written is skipped: loading still works, only slower.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import site
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

# The files whose change changes a translation.
_TRANSLATOR = [Path(__file__).with_name(name) for name in ("translate.py", "py2load.py")]


def cache_dir() -> Path:
    """Where translations are kept (see the module docstring)."""
    if os.environ.get("COMPAT_CACHE_DIR"):
        return Path(os.environ["COMPAT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "socket-models", "compat")


def _key(path: str, stat: os.stat_result) -> str:
    parts = [os.path.abspath(path), str(stat.st_mtime_ns), str(stat.st_size),
             sys.implementation.cache_tag or ""]
    for source in _TRANSLATOR:
        own = source.stat()
        parts += [str(own.st_mtime_ns), str(own.st_size)]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _compile(raw: bytes, path: str) -> CodeType:
    from compat.translate import translate  # only on a cache miss: fissix is slow to import

    source = importlib.util.decode_source(raw)
    try:
        translated = translate(source, path)
    except SyntaxError:
        try:  # a module of the tree that is Python 3 already
            return compile(raw, path, "exec", dont_inherit=True)
        except SyntaxError:
            pass
        raise
    return compile(translated, path, "exec", dont_inherit=True)


def code_for(path: str) -> CodeType:
    """The code of the Python 2 file ``path``, translated, from the cache if there."""
    stat = os.stat(path)
    entry = cache_dir() / _key(path, stat)
    try:
        code = marshal.loads(entry.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    else:
        if isinstance(code, CodeType):
            return code
    with open(path, "rb") as f:
        code = _compile(f.read(), path)
    _store(entry, marshal.dumps(code))
    return code


def _store(entry: Path, data: bytes) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, entry)
    except OSError:
        pass  # a read-only or full disk: run uncached


def _installed_roots() -> list[str]:
    roots = [os.path.dirname(os.__file__), *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        roots.append(site.getusersitepackages())
    return [os.path.abspath(root) for root in roots]


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


class Py2Loader(importlib.machinery.SourceFileLoader):
    """A module of the script's tree: translated, cached, run with ``namespace``."""

    def __init__(self, fullname: str, path: str,
                 namespace: Callable[[], dict[str, Any]]) -> None:
        super().__init__(fullname, path)
        self.namespace = namespace

    def get_code(self, fullname: str) -> CodeType:
        return code_for(self.get_filename(fullname))

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__.update(self.namespace())
        exec(self.get_code(module.__name__), module.__dict__)


class Py2Finder(importlib.abc.MetaPathFinder):
    """Finds modules in ``root`` (the script's directory) and loads them as Python 2."""

    def __init__(self, root: str, namespace: Callable[[], dict[str, Any]]) -> None:
        self.root = os.path.abspath(root)
        self.namespace = namespace
        # A script inside the standard library or site-packages gets no translated tree.
        self.installed = any(_inside(self.root, r) for r in _installed_roots())

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if self.installed:
            return None
        where = [self.root] if path is None else [
            p for p in path if _inside(os.path.abspath(p), self.root)]
        if not where:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, where)
        if spec is None or not (spec.origin or "").endswith(".py"):
            return None
        assert spec.origin is not None
        spec.loader = Py2Loader(fullname, spec.origin, self.namespace)
        return spec


def install(root: str, namespace: Callable[[], dict[str, Any]] = dict) -> Py2Finder:
    """Load the modules of ``root`` as Python 2 from now on; ``namespace()`` gives
    the names each such module starts with (its ``__builtins__``, say)."""
    finder = Py2Finder(root, namespace)
    sys.meta_path.insert(0, finder)
    return finder
