"""Every implementation the contract suite runs, and how to start each.

An implementation is a command line that serves one legacy conversation on a
given port, plus how to read its standard output.  The matrix: for each legacy
server, the original under Python 2.7 (through ``compat.run``), the same
original on Python 3 through ``compat.run --interpreter py3`` (which must fail
exactly where the original fails, no more), its faithful port, and
``selectors_server``/``asyncio_server`` speaking its conversation (the latter
on asyncio's loop and on uvloop), and ``asyncio_protocol_server``, the bare
``asyncio.Protocol`` reference the benchmark sets beside it; and for
v4_select, ``threading_server`` and ``forking_server`` speaking it too.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import pytest

from compat.loops import uvloop_available
from compat.run import find_python2
from modern.common import PORTS
from wireproof.implementation import Client, Implementation
from wireproof.originals import CONVERSATIONS
from wireproof.procs import python_module

# The conversation each legacy client speaks, and so the servers it can talk to.
CLIENT_CONVERSATIONS = {
    "v1_client": ("v1_server", "v2_socketserver", "v3_forking", "v3_threading"),
    "v4_client": ("v4_select", "v4_poll"),
}


@functools.cache
def python2() -> str | None:
    return find_python2()


def on_python2(*parties: Implementation | Client) -> list[pytest.MarkDecorator]:
    """The ``python2`` mark for a test in which one of ``parties`` runs under a
    real Python 2.7: it tests that interpreter, not the one running pytest, so
    CI's passes on the other Python 3 versions leave it out (``-m "not python2"``)."""
    return [pytest.mark.python2] if any(p.needs == "python2.7" for p in parties) else []


def missing(needs: str | None) -> str | None:
    """Why something that needs ``needs`` cannot run here, or None."""
    if needs == "python2.7" and python2() is None:
        return "no Python 2.7 found (set LEGACY_PYTHON, or install 2.7 with pyenv)"
    if needs == "uvloop" and not uvloop_available():
        return "uvloop is not installed"
    return None


def _legacy(script: str, interpreter: str = "py2") -> Callable[[str, int], list[str]]:
    return lambda host, port: python_module(
        "compat.run", f"legacy/{script}.py", "--interpreter", interpreter,
        "--host", host, "--port", str(port))


def _modern(module: str, *extra: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: python_module(
        f"modern.{module}", "--host", host, "--port", str(port), *extra)


def _poll_server_on_compat_poll(host: str, port: int) -> list[str]:
    """poll_server as it runs where select.poll is missing: on compat.poll."""
    code = ("import runpy, select, sys; del select.poll; sys.argv[0] = 'poll_server'; "
            "runpy.run_module('modern.poll_server', run_name='__main__')")
    return [sys.executable, "-c", code, "--host", host, "--port", str(port)]


def servers() -> list[Implementation]:
    impls = []
    for like in CONVERSATIONS:
        sequential = like in ("v1_server", "v2_socketserver")
        impls += [
            Implementation(f"{like}/legacy", like, True, _legacy(like), "python2.7",
                           sequential=sequential),
            Implementation(f"{like}/legacy-on-py3", like, True, _legacy(like, "py3"),
                           sequential=sequential),
            Implementation(f"{like}/port", like, False, _modern(PORTS[like]),
                           sequential=sequential,
                           fd_limit=1024 if like == "v4_select" else None),
            Implementation(f"{like}/selectors", like, False,
                           _modern("selectors_server", "--like", like)),
            Implementation(f"{like}/asyncio", like, False,
                           _modern("asyncio_server", "--like", like, "--loop", "asyncio")),
            Implementation(f"{like}/uvloop", like, False,
                           _modern("asyncio_server", "--like", like, "--loop", "uvloop"),
                           "uvloop"),
            Implementation(f"{like}/protocol", like, False,
                           _modern("asyncio_protocol_server", "--like", like, "--loop", "asyncio")),
        ]
    impls.append(Implementation("v4_poll/port-on-compat-poll", "v4_poll", False,
                                _poll_server_on_compat_poll))
    # A thread and a process per connection, speaking the reading conversation
    # for the benchmark's comparison; the cases hold up to 1,100 connections at
    # once, beyond forking_server's default bound of 40 children.
    impls += [
        Implementation("v4_select/threading", "v4_select", False,
                       _modern("threading_server", "--like", "v4_select")),
        Implementation("v4_select/forking", "v4_select", False,
                       _modern("forking_server", "--like", "v4_select", "--max-children", "1200")),
        # One process per core, sharing the port (SO_REUSEPORT).
        Implementation("v4_select/selectors-workers", "v4_select", False,
                       _modern("selectors_server", "--like", "v4_select", "--workers", "2"),
                       workers=2),
    ]
    return impls


def _legacy_client(script: str, interpreter: str) -> Callable[[str, int, float], list[str]]:
    # The originals have no timeout to pass.
    return lambda host, port, timeout: _legacy(script, interpreter)(host, port)


def _modern_client(module: str) -> Callable[[str, int, float], list[str]]:
    return lambda host, port, timeout: [*_modern(module)(host, port), "--timeout", str(timeout)]


def clients() -> list[Client]:
    impls = []
    for like in CLIENT_CONVERSATIONS:
        impls += [
            Client(f"{like}/legacy", like, True, _legacy_client(like, "py2"), "python2.7"),
            Client(f"{like}/legacy-on-py3", like, True, _legacy_client(like, "py3")),
            Client(f"{like}/port", like, False, _modern_client(PORTS[like])),
        ]
    return impls
