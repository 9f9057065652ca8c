"""What the engine runs its cases against: a server or a client, and how to start it.

The registry of this project's own implementations is the test suite's
(``tests/contract/implementations.py``); a user's server, already running,
is a :func:`target`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Implementation:
    """One way of speaking one legacy conversation."""

    name: str
    like: str                      # the legacy script whose conversation it speaks
    legacy: bool                   # a legacy original: its output is the legacy print format
    argv: Callable[[str, int], list[str]] | None  # (host, port) -> command; None: --target
    needs: str | None = None       # "python2.7" or "uvloop" where that must be installed
    sequential: bool = False       # serves one connection at a time
    fd_limit: int | None = None    # refuses descriptors at or past this number
    workers: int = 0               # long-lived worker processes it keeps (--workers)


@dataclass(frozen=True)
class Client:
    """One client program of one legacy conversation."""

    name: str
    like: str                     # the legacy client it ports or is
    legacy: bool
    argv: Callable[[str, int, float], list[str]]  # (host, port, timeout) -> command
    needs: str | None = None


def target(like: str) -> Implementation:
    """A server someone else started (``--target``): wire-level cases only.

    It may be built on select(), so it may refuse descriptors past FD_SETSIZE,
    as long as it does so cleanly.
    """
    return Implementation(f"{like}/target", like, False, None, fd_limit=1024)
