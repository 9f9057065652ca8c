"""The bare cost of one select(), poll() and epoll wait, as watched descriptors grow.

One descriptor is ready, N are idle, and the wait is called with a zero
timeout, so what is timed is only the call: passing the set in, the kernel
looking at every descriptor (select, poll) or only at the ready list (epoll),
and the result coming back.  That is the article's question in one number per
mechanism and N.

The idle descriptors are eventfds where the platform has them (one descriptor
each) and pipes elsewhere (two each, only the read end watched).  The call is
timed from Python, so select's figure includes building its three lists into
bitmaps, which is part of what using select() from Python costs.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# glibc's value, which CPython neither exposes nor lets select() exceed.
FD_SETSIZE = 1024

MECHANISMS = tuple(name for name in ("select", "poll", "epoll") if hasattr(select, name))


@contextmanager
def descriptors(idle: int) -> Iterator[tuple[list[int], int]]:
    """``idle`` descriptors that never become ready, and one that always is."""
    opened: list[int] = []
    try:
        if hasattr(os, "eventfd"):
            quiet = [os.eventfd(0) for _ in range(idle)]
            opened += quiet
            ready = os.eventfd(1)
            opened.append(ready)
        else:
            quiet = []
            for _ in range(idle):
                read_end, write_end = os.pipe()
                opened += (read_end, write_end)
                quiet.append(read_end)
            ready, write_end = os.pipe()
            opened += (ready, write_end)
            os.write(write_end, b"x")
        yield quiet, ready
    finally:
        for fd in opened:
            os.close(fd)


def _waiter(mechanism: str, fds: list[int]) -> tuple[Callable[[], object], Callable[[], None]]:
    """A zero-timeout wait on ``fds``, and what to close afterwards."""
    if mechanism == "select":
        return (lambda: select.select(fds, [], [], 0)), (lambda: None)
    if mechanism == "poll":
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        return (lambda: poller.poll(0)), (lambda: None)
    if mechanism == "epoll":
        epoll = select.epoll(len(fds))
        for fd in fds:
            epoll.register(fd, select.EPOLLIN)
        return (lambda: epoll.poll(0)), epoll.close
    raise ValueError(f"unknown mechanism {mechanism!r}; choose from {', '.join(MECHANISMS)}")


def wait_cost(mechanism: str, idle: int, seconds: float = 0.05) -> float | None:
    """Seconds per zero-timeout wait with one ready descriptor among ``idle`` idle ones.

    None where ``select`` cannot watch them: a descriptor numbered
    FD_SETSIZE or more.  The call is repeated for about ``seconds``, in
    batches so that the clock is read rarely, and the mean per call returned.
    """
    with descriptors(idle) as (quiet, ready):
        fds = [*quiet, ready]
        if mechanism == "select" and max(fds) >= FD_SETSIZE:
            return None
        wait, close = _waiter(mechanism, fds)
        try:
            if not _one_ready(wait()):
                raise RuntimeError(f"{mechanism} did not report the ready descriptor")
            batch, calls = 1, 0
            start = time.perf_counter()
            elapsed = 0.0
            while elapsed < seconds:
                for _ in range(batch):
                    wait()
                calls += batch
                elapsed = time.perf_counter() - start
                batch = min(batch * 2, 4096)
            return elapsed / calls
        finally:
            close()


def _one_ready(outcome: object) -> bool:
    # select returns (readable, writable, exceptional); poll and epoll a list of pairs.
    if isinstance(outcome, tuple):
        return len(outcome[0]) == 1
    return isinstance(outcome, list) and len(outcome) == 1


def descriptors_needed(idle: int) -> int:
    """How many descriptors :func:`descriptors` opens for ``idle``."""
    return idle + 1 if hasattr(os, "eventfd") else 2 * (idle + 1)
