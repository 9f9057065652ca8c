"""``ForkingMixIn`` everywhere: the real one where ``os.fork`` exists, threads elsewhere.

``socketserver.ForkingMixIn`` exists only where ``os.fork`` does (not on
Windows).  Where it is missing, :data:`ForkingMixIn` here is
:class:`ThreadsInsteadOfForks`, which serves each request in a thread and says
so once with a ``RuntimeWarning``: the server works, but handlers share one
process, so a handler that relies on its own address space (globals,
``os.chdir``, crashing alone) behaves differently.
"""

from __future__ import annotations

import os
import socketserver
import warnings

TYPE_CHECKING = False  # not typing at run time: a forking server stays small
if TYPE_CHECKING:
    from typing import Any


class ThreadsInsteadOfForks(socketserver.ThreadingMixIn):
    """A ``ForkingMixIn`` stand-in: a thread per request, with a warning."""

    _warned = False

    def process_request(self, request: Any, client_address: Any) -> None:
        if not ThreadsInsteadOfForks._warned:
            ThreadsInsteadOfForks._warned = True
            warnings.warn("os.fork is not available here: ForkingMixIn serves each "
                          "request in a thread instead", RuntimeWarning, stacklevel=2)
        super().process_request(request, client_address)


if hasattr(os, "fork"):
    from socketserver import ForkingMixIn as ForkingMixIn
else:
    ForkingMixIn = ThreadsInsteadOfForks  # type: ignore[misc,assignment]
