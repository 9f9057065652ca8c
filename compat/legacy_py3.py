"""Run a Python 2 socket script, unchanged on disk, on Python 3.

Usage: ``python -u -m compat.legacy_py3 HOST PORT SCRIPT [ARG...]``; ``compat.run
--interpreter py3`` starts it.  The shims go in first (old module names,
Python 2 strings on sockets, a loader for the modules of the script's own
tree, Python 2's builtins for its code, :mod:`compat.py2runtime`), then the
script's syntax is translated in memory (or taken from the cache,
:mod:`compat.py2load`) and it runs as ``__main__`` with its address
remapped, exactly as ``compat.legacy_boot`` runs it under Python 2.7.
"""

from __future__ import annotations

import os
import sys

from compat import bytestrings, legacy_boot, py2load, py2names, py2runtime


def main() -> None:
    host, port, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    py2names.install()
    bytestrings.install()
    py2runtime.install()
    py2load.install(os.path.dirname(os.path.abspath(script)), py2runtime.namespace)
    try:
        legacy_boot.run(host, port, script, [bytestrings.to_str(os.fsencode(arg))
                                             for arg in sys.argv[4:]], py2load.code_for,
                        py2runtime.namespace())
    except SyntaxError as exc:
        sys.exit(f"python -m compat.run: error: {exc}")


if __name__ == "__main__":
    main()
