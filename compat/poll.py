"""A ``select.poll`` work-alike built on :mod:`selectors`.

For platforms without ``select.poll`` (Windows): ``poll()`` returns an object
with the same ``register``/``modify``/``unregister``/``poll(timeout_ms)``
methods, the same constants and the same argument checks, so code written
against ``select.poll`` runs unchanged.  ``modern.poll_server`` uses it where
``select.poll`` is missing.

As ``select.poll``: an object without a usable ``fileno()`` is a
``TypeError``; a negative event mask a ``ValueError`` and one above 0xFFFF an
``OverflowError``; a timeout above ``2**31 - 1`` ms an ``OverflowError``, a
negative one waits for ever; two threads polling one object at once is a
``RuntimeError``; a descriptor that is not open is reported as POLLNVAL.

Where it stops (selectors can only say "readable" and "writable"):

- POLLPRI is watched as plain readability, and reported as POLLIN.
- POLLERR and POLLHUP are never reported on their own: an error or a hang-up
  makes a socket readable, so it comes back as POLLIN, and the ``recv`` that
  follows returns ``b""`` or raises, as it does after a real POLLHUP.  A mask
  of POLLERR or POLLHUP alone is accepted and never reported.
- POLLNVAL is reported for a descriptor that was not open when registered,
  and for one the selector could not watch (a regular file, always ready) once
  it is closed; a socket closed while it is watched is dropped by the kernel's
  epoll or kqueue without a word, so it is never reported.
- ``poll()`` with nothing registered and no timeout raises ``RuntimeError``
  (``select.poll`` would block for ever).
- **The 512-socket limit on Windows.**  There ``selectors.DefaultSelector``
  is ``select()``, which CPython builds with ``FD_SETSIZE`` 512: a poll
  object watching more than 512 sockets fails in ``poll()`` with
  ``ValueError: too many file descriptors in select()``, the very limit
  ``poll`` exists to avoid.  A Windows server that must hold more
  connections needs a proactor (``asyncio``'s default loop there).

CPython's own ``Lib/test/test_poll.py`` passes with ``select.poll`` replaced
by this one: ``tests/test_compat_poll.py`` runs its seven tests but
``test_poll2``, which needs regrtest's ``walltime`` resource (ten seconds of
a shell loop) and is left out there as regrtest leaves it out by default.
"""

from __future__ import annotations

import math
import os
import select
import selectors
import threading
from typing import Any

# Linux's values; portable code only ever combines the names.
POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004
POLLERR = 0x008
POLLHUP = 0x010
POLLNVAL = 0x020

_DEFAULT_MASK = POLLIN | POLLPRI | POLLOUT
_USHRT_MAX = 0xFFFF
_INT_MAX = 2**31 - 1


def _fileno(fd: Any) -> int:
    if not isinstance(fd, int):
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def _mask(eventmask: Any) -> int:
    if not isinstance(eventmask, int):
        raise TypeError(f"event mask must be an integer, not {type(eventmask).__name__}")
    if eventmask < 0:
        raise ValueError("event mask cannot be negative")
    if eventmask > _USHRT_MAX:
        raise OverflowError("event mask is greater than maximum (65535)")
    return eventmask


def _selector_events(eventmask: int) -> int:
    events = 0
    if eventmask & (POLLIN | POLLPRI):
        events |= selectors.EVENT_READ
    if eventmask & POLLOUT:
        events |= selectors.EVENT_WRITE
    return events


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        try:  # a Windows socket has no fstat, but select takes it
            select.select([fd], [], [], 0)
        except (OSError, ValueError):
            return False
    return True


def _seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be an integer or None, not {type(timeout).__name__}")
    if timeout < 0:
        return None
    # poll() takes whole milliseconds, rounded up so a short wait is never zero.
    milliseconds = math.ceil(timeout)
    if milliseconds > _INT_MAX:
        raise OverflowError("timeout is too large")
    return milliseconds / 1000


class Poll:
    """One set of watched descriptors, like the object ``select.poll()`` returns."""

    def __init__(self) -> None:
        # Made at the first descriptor it can watch: select.poll() opens no
        # descriptor, and one opened here could take the number of a closed one
        # just registered, which must stay POLLNVAL.
        self._selector: selectors.BaseSelector | None = None
        self._masks: dict[int, int] = {}
        # Descriptors the selector would not take: not open, or a file (always ready).
        self._outside: set[int] = set()
        self._changed: set[int] = set()
        self._lock = threading.Lock()
        self._polling = False

    def register(self, fd: Any, eventmask: int = _DEFAULT_MASK) -> None:
        """Watch ``fd``; registering it again replaces its mask, as poll does."""
        fd = _fileno(fd)
        eventmask = _mask(eventmask)
        with self._lock:
            self._masks[fd] = eventmask
            self._changed.add(fd)

    def modify(self, fd: Any, eventmask: int) -> None:
        """Change the mask of a watched ``fd``; ``FileNotFoundError`` if it is not."""
        fd = _fileno(fd)
        eventmask = _mask(eventmask)
        with self._lock:
            if fd not in self._masks:
                raise FileNotFoundError(2, "No such file or directory")
            self._masks[fd] = eventmask
            self._changed.add(fd)

    def unregister(self, fd: Any) -> None:
        """Stop watching ``fd``; ``KeyError`` if it was not watched."""
        fd = _fileno(fd)
        with self._lock:
            del self._masks[fd]
            self._changed.add(fd)

    def _sync(self) -> None:
        """Give the selector the changes made since the last poll().

        Only here, as CPython's poll copies its array at the start of each
        call: a change made while another thread polls waits for the next one.
        """
        with self._lock:
            changed, self._changed = self._changed, set()
            masks = {fd: self._masks[fd] for fd in changed if fd in self._masks}
        for fd in sorted(changed):
            self._outside.discard(fd)
            events = _selector_events(masks.get(fd, 0))
            if self._selector is not None and fd in self._selector.get_map():
                # Always anew: the number may now name another descriptor, closed
                # and reopened since, which the kernel's epoll has never seen.
                self._selector.unregister(fd)
            if fd not in masks:
                continue
            if not events or not _is_open(fd):
                self._outside.add(fd)
                continue
            if self._selector is None:
                self._selector = selectors.DefaultSelector()
            try:
                self._selector.register(fd, events)
            except (OSError, ValueError):  # epoll refuses a regular file: always ready
                self._outside.add(fd)

    def _outside_events(self) -> list[tuple[int, int]]:
        ready = []
        for fd in sorted(self._outside):
            if not _is_open(fd):
                ready.append((fd, POLLNVAL))
            elif (mask := self._masks.get(fd, 0)) & (POLLIN | POLLPRI | POLLOUT):
                ready.append((fd, mask & (POLLIN | POLLOUT)))
        return ready

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` milliseconds (None or negative: for ever)."""
        seconds = _seconds(timeout)
        with self._lock:
            if self._polling:
                raise RuntimeError("concurrent poll() invocation")
            self._polling = True
        try:
            self._sync()
            ready = self._outside_events()
            if ready:
                seconds = 0
            if self._selector is None:
                if seconds is None and not ready:
                    raise RuntimeError("poll() with nothing to watch would wait for ever")
                if seconds:
                    threading.Event().wait(seconds)  # the wait itself is what was asked
                return ready
            for key, events in self._selector.select(seconds):
                mask = 0
                if events & selectors.EVENT_READ:
                    mask |= POLLIN
                if events & selectors.EVENT_WRITE:
                    mask |= POLLOUT
                ready.append((key.fd, mask))
            return ready
        finally:
            with self._lock:
                self._polling = False


def poll() -> Poll:
    """A new poll object, as ``select.poll()``."""
    return Poll()
