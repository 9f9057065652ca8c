"""Run a legacy script unchanged, on the address you choose.

``python -m compat.run legacy/v1_server.py --port 0`` starts the original
under a real Python 2.7 with every ``bind`` and ``connect`` remapped to
``--host``/``--port`` (port 0 picks a free one), and prints ``listening on
HOST:PORT`` once the server socket listens.  ``--interpreter py3`` runs it on
this Python instead, through :mod:`compat.legacy_py3`; ``--diff`` shows the
syntax translation that involves.  The file on disk is never changed.  The
process becomes the script (``exec``), so its PID, exit status and signals
are the script's own.  What follows ``--`` is the script's own command line
(its ``sys.argv[1:]``): ``compat.run chat.py --port 0 -- server 127.0.0.1``.

Python 2.7 is found through ``$LEGACY_PYTHON``, then ``python2.7`` and
``python2`` on ``PATH``, then pyenv's versions; a candidate counts only if it
runs and says it is 2.7.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

BOOT = Path(__file__).with_name("legacy_boot.py")


def _candidates() -> Iterator[str]:
    if os.environ.get("LEGACY_PYTHON"):
        yield os.environ["LEGACY_PYTHON"]
    for name in ("python2.7", "python2"):
        found = shutil.which(name)
        if found:
            yield found
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    yield from sorted(glob.glob(os.path.join(pyenv_root, "versions", "2.7*", "bin", "python")),
                      reverse=True)


def _is_python27(executable: str) -> bool:
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"],
            capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout == b"2.7"


def find_python2() -> str | None:
    """The path of a working Python 2.7, or None.

    pyenv's shims answer to ``python2`` even where no 2.7 is active and then
    fail, so each candidate is run once before it is trusted.
    """
    for candidate in _candidates():
        if _is_python27(candidate):
            return candidate
    return None


# Python 2 never printed these for the idioms a Python 2 script uses (setDaemon,
# getName, import asyncore); Python 3 does, which changes what the script writes.
QUIET = ["-W", "ignore::DeprecationWarning", "-W", "ignore::PendingDeprecationWarning"]
SHOWN = ["-W", "default::DeprecationWarning", "-W", "default::PendingDeprecationWarning"]


def command(script: str, host: str, port: int, python2: str | None,
            script_args: Sequence[str] = (), show_warnings: bool = False) -> list[str]:
    """The command line that runs ``script`` on ``host:port`` with ``script_args``
    as its arguments: under ``python2``, or, if that is None, on this Python 3
    through the shims and translation, its deprecation warnings silenced unless
    ``show_warnings``.

    Both run unbuffered (``-u``), so each ``print`` reaches a pipe as it happens.
    """
    if python2 is None:
        return [sys.executable, "-u", *(SHOWN if show_warnings else QUIET),
                "-m", "compat.legacy_py3", host, str(port), script, *script_args]
    return [python2, "-u", str(BOOT), host, str(port), script, *script_args]


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block: the script's own usage may follow."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The launcher's arguments and the script's: before and after the first ``--``."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def main(argv: Sequence[str] | None = None) -> None:
    own, script_args = split_argv(sys.argv[1:] if argv is None else argv)
    parser = _Parser(
        prog="python -m compat.run", description=__doc__.splitlines()[0],
        usage="%(prog)s SCRIPT [options] [-- SCRIPT_ARGS...]",
        epilog="Everything after -- is passed to the script as its sys.argv[1:].")
    parser.add_argument("script", help="a legacy script, e.g. legacy/v4_poll.py")
    parser.add_argument("--interpreter", choices=["py2", "py3"], default="py2",
                        help="py2: a real Python 2.7 (default); py3: this Python, with "
                             "the script's syntax translated in memory and the compat shims")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind or connect to instead of the script's "
                             "(default %(default)s)")
    parser.add_argument("--port", type=_port, default=8889,
                        help="port instead of the script's; 0 picks a free one "
                             "(default %(default)s)")
    parser.add_argument("--show-warnings", action="store_true",
                        help="with --interpreter py3: show the DeprecationWarnings the "
                             "script's Python 2 idioms trigger (hidden by default, as "
                             "Python 2 never printed them)")
    parser.add_argument("--diff", action="store_true",
                        help="print how the script's syntax is translated for Python 3, "
                             "instead of running it")
    args = parser.parse_args(own)
    if not os.path.isfile(args.script):
        parser.exit(1, f"{parser.prog}: error: no such script: {args.script}\n")
    if args.diff:
        from compat.translate import diff  # fissix is slow to import: only when asked

        with open(args.script, "rb") as f:
            source = importlib.util.decode_source(f.read())
        try:
            shown = diff(source, args.script) or f"{args.script}: nothing to translate\n"
        except SyntaxError as exc:
            parser.exit(1, f"{parser.prog}: error: {exc}\n")
        sys.stdout.write(shown)
        return
    python2 = None
    if args.interpreter == "py2":
        python2 = find_python2()
        if python2 is None:
            parser.exit(1, f"{parser.prog}: error: no Python 2.7 found; set LEGACY_PYTHON "
                           "to its path, or put python2.7 on PATH\n")
    argv2 = command(args.script, args.host, args.port, python2, script_args,
                    args.show_warnings)
    sys.stdout.flush()
    os.execv(argv2[0], argv2)


if __name__ == "__main__":
    main()
