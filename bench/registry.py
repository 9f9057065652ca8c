"""Every server the benchmark can start, under the contract suite's names.

``v4_select/legacy`` is the original under Python 2.7 (through
``compat.run``), ``v4_select/port`` its faithful port, ``v4_select/selectors``
and ``v4_select/asyncio``/``uvloop`` the two new servers speaking its
conversation.  The contract suite keeps the same matrix in
``tests/contract/implementations.py``; it is not imported here because it
lives in the test tree, which is not installed with the package.

Modern servers run with ``-q`` (no per-connection event lines).  The originals
cannot be silenced: their prints go to a file, which is part of their cost.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from compat.loops import uvloop_available
from compat.run import find_python2
from modern.common import CONVERSATIONS, PORTS

REPO = Path(__file__).resolve().parents[1]


VARIANTS = ("legacy", "port", "selectors", "asyncio", "uvloop")


@functools.cache
def python2() -> str | None:
    """A working Python 2.7, looked for once (each candidate is run to check it)."""
    return find_python2()


@dataclass(frozen=True)
class Implementation:
    """One server speaking one legacy conversation."""

    like: str      # the legacy server whose conversation it speaks
    variant: str   # one of VARIANTS

    @property
    def name(self) -> str:
        return f"{self.like}/{self.variant}"

    @property
    def legacy(self) -> bool:
        return self.variant == "legacy"

    def argv(self, host: str) -> list[str]:
        """The command that serves this conversation on ``host``, any free port."""
        if self.legacy:
            return [sys.executable, "-m", "compat.run", str(REPO / "legacy" / f"{self.like}.py"),
                    "--host", host, "--port", "0"]
        common = ["--host", host, "--port", "0", "-q"]
        if self.variant == "port":
            return [sys.executable, "-m", f"modern.{PORTS[self.like]}", *common]
        if self.variant == "selectors":
            return [sys.executable, "-m", "modern.selectors_server", *common, "--like", self.like]
        return [sys.executable, "-m", "modern.asyncio_server", *common,
                "--like", self.like, "--loop", self.variant]

    def missing(self) -> str | None:
        """Why this implementation cannot run here, or None."""
        if self.legacy and python2() is None:
            return "no Python 2.7 found (set LEGACY_PYTHON)"
        if self.variant == "uvloop" and not uvloop_available():
            return "uvloop is not installed"
        return None


def implementations() -> list[Implementation]:
    """The whole matrix, conversation by conversation, legacy first."""
    return [Implementation(like, variant) for like in CONVERSATIONS for variant in VARIANTS]


def by_name(name: str) -> Implementation:
    """The implementation called ``name``; ``KeyError`` if there is none."""
    like, _, variant = name.partition("/")
    if like not in CONVERSATIONS or variant not in VARIANTS:
        raise KeyError(name)
    return Implementation(like, variant)
