"""The event-loop chooser: uvloop where it is installed, else asyncio's own.

uvloop runs on CPython on Linux and macOS; it is an optional speed-up, never a
requirement, so ``auto`` quietly falls back to asyncio's loop without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPS = ("auto", "asyncio", "uvloop")


def uvloop_available() -> bool:
    """Whether ``import uvloop`` works here (not merely whether it is on the path)."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_loop(name: str) -> str:
    """``asyncio`` or ``uvloop`` for a name in :data:`LOOPS`; ``LookupError``
    if uvloop is asked for by name and is not installed."""
    if name not in LOOPS:
        raise ValueError(f"unknown event loop {name!r}; choose from {', '.join(LOOPS)}")
    if name == "auto":
        return "uvloop" if uvloop_available() else "asyncio"
    if name == "uvloop" and not uvloop_available():
        raise LookupError("uvloop is not installed (pip install uvloop)")
    return name


def run_with_loop(main: Coroutine[Any, Any, T], name: str = "auto") -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    if resolve_loop(name) == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
