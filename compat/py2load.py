"""Load Python 2 source on Python 3: the script, and the modules of its own tree.

:func:`code_for` turns a Python 2 file into a code object: its source
translated (:mod:`compat.translate`), then compiled with Python 2's ``str``
semantics (:class:`Py2Strings`), and kept in a cache so that a second run
neither translates nor imports the translator.  :func:`install`
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

import ast
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import marshal
import os
import re
import site
import sys
import tempfile
import tokenize
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from compat.py2str import METHODS

# The files whose change changes a translation.
_TRANSLATOR = [Path(__file__).with_name(name) for name in ("translate.py", "py2load.py",
                                                            "py2str.py")]
# One %-conversion, or an escaped percent sign.
_CONVERSION = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z]")


class Py2Strings(ast.NodeTransformer):
    """Python 2's ``str`` semantics where they hang on the code, not on a value:

    - ``x.upper()`` and the other methods in :data:`compat.py2str.METHODS`
      become ``__py2_method__(x, 'upper')()``, which is Python 2's method when
      ``x`` is a ``str`` and ``x.upper`` otherwise;
    - ``'%r' % x`` becomes ``'%a' % x``: Python 2's ``repr`` of a byte string
      escapes every byte above 127, as ``ascii`` does (the namespace's ``repr``
      is ``ascii`` for the same reason);
    - in a module without ``from __future__ import print_function``, every
      ``print(...)`` was a print statement: it becomes ``__py2_print__(...)``,
      which keeps the statement's ``softspace`` rules.
    """

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self.statements = not any(
            isinstance(n, ast.ImportFrom) and n.module == "__future__"
            and any(a.name == "print_function" for a in n.names) for n in node.body)
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "print" and self.statements:
            func.id = "__py2_print__"
        elif isinstance(func, ast.Attribute) and func.attr in METHODS:
            node.func = ast.copy_location(ast.Call(
                func=ast.Name("__py2_method__", ast.Load()),
                args=[func.value, ast.Constant(func.attr)], keywords=[]), func)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        left = node.left
        if (isinstance(node.op, ast.Mod) and isinstance(left, ast.Constant)
                and isinstance(left.value, str)):
            left.value = _CONVERSION.sub(
                lambda m: m[0][:-1] + "a" if m[0].endswith("r") else m[0], left.value)
        return node


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

    encoding = tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
    try:
        source = importlib.util.decode_source(raw)
    except UnicodeDecodeError:
        # Python 2 compiles the bytes of a file that declares no coding as they
        # are: in a literal, any byte is that byte.
        encoding, source = "latin-1", raw.decode("latin-1")
    try:
        translated = translate(source, path, encoding)
    except SyntaxError:
        try:  # a module of the tree that is Python 3 already
            return compile(raw, path, "exec", dont_inherit=True)
        except SyntaxError:
            pass
        raise
    tree = ast.fix_missing_locations(Py2Strings().visit(ast.parse(translated, path)))
    return compile(tree, path, "exec", dont_inherit=True)


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
