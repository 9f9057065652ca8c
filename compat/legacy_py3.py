"""Run a Python 2 socket script, unchanged on disk, on Python 3.

Usage: ``python -u -m compat.legacy_py3 HOST PORT SCRIPT [ARG...]``; ``compat.run
--interpreter py3`` starts it.  The shims go in first (old module names,
Python 2 strings on sockets), then the script's syntax is translated in memory
and it runs as ``__main__`` with its address remapped, exactly as
``compat.legacy_boot`` runs it under Python 2.7.
"""

from __future__ import annotations

import importlib.util
import sys

from compat import bytestrings, legacy_boot, py2names
from compat.translate import translate


def python3_source(raw: bytes, name: str) -> str:
    """The script's bytes, decoded as Python would (coding line, else UTF-8),
    with its Python 2 syntax translated."""
    return translate(importlib.util.decode_source(raw), name)


def main() -> None:
    host, port, script = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    py2names.install()
    bytestrings.install()
    try:
        legacy_boot.run(host, port, script, sys.argv[4:], python3_source)
    except SyntaxError as exc:
        sys.exit(f"python -m compat.run: error: {exc}")


if __name__ == "__main__":
    main()
