"""Every server the benchmark can start, under the contract suite's names.

``v4_select/legacy`` is the original under Python 2.7 (through
``compat.run``), ``v4_select/port`` its faithful port, ``v4_select/selectors``
and ``v4_select/asyncio``/``uvloop`` the two new servers speaking its
conversation, ``v4_select/threading`` and ``v4_select/forking`` a thread and a
process per connection speaking it, and ``v1_server/asyncio-protocol`` and
``v1_server/uvloop-protocol`` the bare ``asyncio.Protocol`` reference
(``modern.asyncio_protocol_server``) beside the streams of ``asyncio_server``.
``v1_server/selectors-workers``, ``asyncio-workers`` and ``uvloop-workers`` are
``selectors_server`` and ``asyncio_server`` with ``--workers 2``: two processes
sharing the port, beside the same server in one.
The contract suite keeps the same matrix in ``tests/contract/implementations.py``;
it is not imported here because it lives in the test tree, which is not
installed with the package.

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


VARIANTS = ("legacy", "port", "selectors", "asyncio", "uvloop", "threading", "forking",
            "asyncio-protocol", "uvloop-protocol",
            "selectors-workers", "asyncio-workers", "uvloop-workers")
# A thread and a process per connection speak only v4_select's reading
# conversation here, as in the contract suite (v1-v3 are those models already).
MODEL_VARIANTS = {"threading": "threading_server", "forking": "forking_server"}
MODEL_CONVERSATION = "v4_select"
# The bare asyncio.Protocol reference on each loop, beside asyncio_server's
# streams on it, speaking v1_server's conversation only: the one the nginx
# ceiling speaks too.
REFERENCE_VARIANTS = {"asyncio-protocol": "asyncio", "uvloop-protocol": "uvloop"}
REFERENCE_CONVERSATION = "v1_server"
# The servers of many connections in WORKERS processes sharing the port,
# beside the same server (the variant named) in one, on the same conversation.
WORKERS_VARIANTS = {"selectors-workers": "selectors", "asyncio-workers": "asyncio",
                    "uvloop-workers": "uvloop"}
WORKERS = 2
# Variants that are not a new server measured against an original.
NOT_PORTS = {*MODEL_VARIANTS, *REFERENCE_VARIANTS, *WORKERS_VARIANTS}


def _only_for(variant: str) -> str | None:
    """The one conversation a variant speaks here, or None for every one."""
    if variant in MODEL_VARIANTS:
        return MODEL_CONVERSATION
    if variant in REFERENCE_VARIANTS or variant in WORKERS_VARIANTS:
        return REFERENCE_CONVERSATION
    return None
# A forked child costs about 1.3 MB (PSS) here, so 10,000 idle connections
# would take some 13 GB: the idle scenario stops the forking server at 1,000.
MAX_CHILDREN = 1_100
FORKING_IDLE = 1_000


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
        if self.variant in WORKERS_VARIANTS:
            one = Implementation(self.like, WORKERS_VARIANTS[self.variant])
            return [*one.argv(host), "--workers", str(WORKERS)]
        if self.variant == "port":
            return [sys.executable, "-m", f"modern.{PORTS[self.like]}", *common]
        if self.variant in MODEL_VARIANTS:
            extra = ["--max-children", str(MAX_CHILDREN)] if self.variant == "forking" else []
            return [sys.executable, "-m", f"modern.{MODEL_VARIANTS[self.variant]}", *common,
                    "--like", self.like, *extra]
        if self.variant == "selectors":
            return [sys.executable, "-m", "modern.selectors_server", *common, "--like", self.like]
        if self.variant in REFERENCE_VARIANTS:
            return [sys.executable, "-m", "modern.asyncio_protocol_server", *common,
                    "--like", self.like, "--loop", REFERENCE_VARIANTS[self.variant]]
        return [sys.executable, "-m", "modern.asyncio_server", *common,
                "--like", self.like, "--loop", self.variant]

    def idle_bound(self) -> tuple[int, str] | None:
        """The most idle connections worth holding against this server, and why."""
        if self.variant == "forking":
            return FORKING_IDLE, (f"not tried: a process per connection, {FORKING_IDLE:,} "
                                  "at most here (memory)")
        return None

    def missing(self) -> str | None:
        """Why this implementation cannot run here, or None."""
        if self.legacy and python2() is None:
            return "no Python 2.7 found (set LEGACY_PYTHON)"
        if self.variant.startswith("uvloop") and not uvloop_available():
            return "uvloop is not installed"
        return None


def implementations() -> list[Implementation]:
    """The whole matrix, conversation by conversation, legacy first."""
    return [Implementation(like, variant) for like in CONVERSATIONS for variant in VARIANTS
            if _only_for(variant) in (None, like)]


def by_name(name: str) -> Implementation:
    """The implementation called ``name``; ``KeyError`` if there is none."""
    like, _, variant = name.partition("/")
    if like not in CONVERSATIONS or variant not in VARIANTS or (
            _only_for(variant) not in (None, like)):
        raise KeyError(name)
    return Implementation(like, variant)
