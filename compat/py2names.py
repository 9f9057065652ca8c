"""Python 2 module names on Python 3: ``import SocketServer`` works again.

``install()`` adds an import hook that answers the old names of renamed
standard modules with the new modules themselves, so ``from SocketServer
import TCPServer`` gives ``socketserver.TCPServer`` (the same object, not a
copy).  This is the other direction of ``six.moves``: six gives new code
neutral names; this gives old code its old ones, unchanged.

- Idempotent: installing twice adds one hook.  ``uninstall()`` removes it and
  forgets the aliases it made.
- Never shadows a real module: the hook is consulted last, so a module that
  really exists under an old name (a project's own ``Queue.py``) wins.
- ``add_move(old, new)`` extends the registry.
- :data:`MOVES` holds every rename of fissix's ``fix_imports`` table (a test
  keeps them in step); a target this Python lacks (``_dummy_thread``, or
  ``tkinter`` without Tk) leaves the old name missing too.

Where it stops: a name whose contents were split or merged (``urllib2``,
``urlparse``) maps to the module that holds most of it; functions that moved
elsewhere are not there.  Only modules are renamed, never builtins.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

# Renamed standard modules, old name -> new name.
MOVES: dict[str, str] = {
    "SocketServer": "socketserver",
    "BaseHTTPServer": "http.server",
    "SimpleHTTPServer": "http.server",
    "CGIHTTPServer": "http.server",
    "httplib": "http.client",
    "Cookie": "http.cookies",
    "cookielib": "http.cookiejar",
    "urlparse": "urllib.parse",
    "urllib2": "urllib.request",
    "xmlrpclib": "xmlrpc.client",
    "SimpleXMLRPCServer": "xmlrpc.server",
    "Queue": "queue",
    "thread": "_thread",
    # Python 2's str is Python 3's str here (compat.py2str), so StringIO is io's.
    "StringIO": "io",
    "cStringIO": "io",
    "cPickle": "pickle",
    "copy_reg": "copyreg",
    "__builtin__": "builtins",
    "ConfigParser": "configparser",
    "repr": "reprlib",
    "markupbase": "_markupbase",
    "_winreg": "winreg",
    "dummy_thread": "_dummy_thread",
    "dbhash": "dbm.bsd",
    "dumbdbm": "dbm.dumb",
    "dbm": "dbm.ndbm",
    "gdbm": "dbm.gnu",
    "DocXMLRPCServer": "xmlrpc.server",
    "htmlentitydefs": "html.entities",
    "HTMLParser": "html.parser",
    "commands": "subprocess",
    "UserString": "collections",
    "UserList": "collections",
    "robotparser": "urllib.robotparser",
    "Tkinter": "tkinter",
    "Tkconstants": "tkinter.constants",
    "Tix": "tkinter.tix",
    "ttk": "tkinter.ttk",
    "FileDialog": "tkinter.filedialog",
    "tkFileDialog": "tkinter.filedialog",
    "SimpleDialog": "tkinter.simpledialog",
    "tkSimpleDialog": "tkinter.simpledialog",
    "tkColorChooser": "tkinter.colorchooser",
    "tkCommonDialog": "tkinter.commondialog",
    "Dialog": "tkinter.dialog",
    "Tkdnd": "tkinter.dnd",
    "tkFont": "tkinter.font",
    "tkMessageBox": "tkinter.messagebox",
    "ScrolledText": "tkinter.scrolledtext",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module has run already; an alias runs nothing."""


class _Py2Names(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.aliased: set[str] = set()

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVES.get(fullname)
        if new is None or importlib.util.find_spec(new.partition(".")[0]) is None:
            return None
        self.aliased.add(fullname)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


_finder = _Py2Names()


def add_move(old: str, new: str) -> None:
    """Make ``import old`` give module ``new`` (once installed)."""
    MOVES[old] = new


def install() -> None:
    """Answer the old names; a second call changes nothing."""
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)


def uninstall() -> None:
    """Remove the hook and the aliases it put in ``sys.modules``."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in _finder.aliased:
        module = sys.modules.get(name)
        if module is not None and module.__name__ != name:
            del sys.modules[name]
    _finder.aliased.clear()


def installed() -> bool:
    return _finder in sys.meta_path
