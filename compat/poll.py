"""A ``select.poll`` work-alike built on :mod:`selectors`.

For platforms without ``select.poll`` (Windows): ``poll()`` returns an object
with the same ``register``/``modify``/``unregister``/``poll(timeout_ms)``
methods and the same constants, so code written against ``select.poll`` runs
unchanged.  ``modern.poll_server`` uses it where ``select.poll`` is missing.

Where it stops (selectors can only say "readable" and "writable"):

- POLLPRI is watched as plain readability, and reported as POLLIN.
- POLLERR and POLLHUP are never reported on their own: an error or a hang-up
  makes a socket readable, so it comes back as POLLIN, and the ``recv`` that
  follows returns ``b""`` or raises, as it does after a real POLLHUP.
- POLLNVAL is never reported: a closed descriptor raises from ``poll()``
  instead.
- A mask with neither POLLIN, POLLPRI nor POLLOUT (errors only) cannot be
  watched and raises ``ValueError``.
"""

from __future__ import annotations

import math
import selectors
from typing import Any

# Linux's values; portable code only ever combines the names.
POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010
POLLNVAL = 0x020

_DEFAULT_MASK = POLLIN | POLLPRI | POLLOUT


def _fileno(fd: Any) -> int:
    return fd if isinstance(fd, int) else int(fd.fileno())


def _selector_events(eventmask: int) -> int:
    events = 0
    if eventmask & (POLLIN | POLLPRI):
        events |= selectors.EVENT_READ
    if eventmask & POLLOUT:
        events |= selectors.EVENT_WRITE
    if not events:
        raise ValueError(f"poll mask {eventmask:#x} watches neither reading nor writing")
    return events


class Poll:
    """One set of watched descriptors, like the object ``select.poll()`` returns."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def register(self, fd: Any, eventmask: int = _DEFAULT_MASK) -> None:
        """Watch ``fd``; registering it again replaces its mask, as poll does."""
        fd = _fileno(fd)
        events = _selector_events(eventmask)
        if fd in self._selector.get_map():
            self._selector.modify(fd, events)
        else:
            self._selector.register(fd, events)

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the mask of a watched ``fd``; ``FileNotFoundError`` if it is not."""
        fd = _fileno(fd)
        if fd not in self._selector.get_map():
            raise FileNotFoundError(2, "No such file or directory")
        self._selector.modify(fd, _selector_events(eventmask))

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``; ``KeyError`` if it was not watched."""
        self._selector.unregister(_fileno(fd))

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` milliseconds (None or negative: for ever)."""
        seconds = None if timeout is None or timeout < 0 else math.ceil(timeout) / 1000
        ready = []
        for key, events in self._selector.select(seconds):
            mask = 0
            if events & selectors.EVENT_READ:
                mask |= POLLIN
            if events & selectors.EVENT_WRITE:
                mask |= POLLOUT
            ready.append((key.fd, mask))
        return ready


def poll() -> Poll:
    """A new poll object, as ``select.poll()``."""
    return Poll()
