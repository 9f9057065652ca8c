"""common.StopSignals: SIGINT and SIGTERM end a loop between two turns.

The select, poll and selectors loops keep a table of connections.  A
KeyboardInterrupt raised mid-statement (between ``peers.pop`` and the
``disconnected`` line, say) loses that connection's last event; while
StopSignals is held the signal only makes a descriptor readable.

A child of ``forking_server`` holds them from the fork until its handler starts.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading

import pytest

from modern import common
from wireproof.procs import WAIT, Proc, read_until_close


def readable(stop: common.StopSignals) -> bool:
    ready, _, _ = select.select([stop], [], [], WAIT)
    return bool(ready)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_raises_nothing_and_is_seen_by_the_loop(signum: int) -> None:
    before = signal.getsignal(signum)
    with common.StopSignals() as stop:
        assert not stop.arrived()
        os.kill(os.getpid(), signum)  # would raise KeyboardInterrupt (or kill us) without it
        assert readable(stop)
        assert stop.arrived()
    assert signal.getsignal(signum) is before


def test_another_signal_with_a_handler_is_not_a_stop() -> None:
    seen: list[int] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        with common.StopSignals() as stop:
            os.kill(os.getpid(), signal.SIGUSR1)
            assert readable(stop)
            assert not stop.arrived()
        assert seen == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_the_wakeup_descriptor_is_put_back() -> None:
    with common.StopSignals():
        pass
    # -1: none was set before, and none is left set.
    assert signal.set_wakeup_fd(-1) == -1


def test_outside_the_main_thread_the_handlers_are_left_alone() -> None:
    before = {signum: signal.getsignal(signum) for signum in common.STOPPING}
    during: dict[int, object] = {}

    def hold() -> None:
        with common.StopSignals():
            during.update({signum: signal.getsignal(signum) for signum in common.STOPPING})

    thread = threading.Thread(target=hold)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert during == before


# forking_server with a stop signal landing in Python's own code in each new
# child, before the handler: an at-fork hook (as threading's reset is one)
# sends it, then runs bytecode, where Python would act on it at once.
STOPPED_IN_AFTER_FORK = """
import os, sys
def stop_me():
    os.kill(os.getpid(), {signum})
    for _ in range(100):
        pass
os.register_at_fork(after_in_child=stop_me)
from modern import common, forking_server
common.run(forking_server.main)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_in_a_child_before_its_handler_ends_it_quietly(signum: int) -> None:
    # As the parent's SIGTERM to every child on its way out can land in one
    # just forked: Python printed "Exception ignored in: ..." with a
    # traceback, and the child went on to serve.
    script = STOPPED_IN_AFTER_FORK.format(signum=int(signum))
    server = Proc([sys.executable, "-c", script, "--port", "0", "-q"])
    try:
        port = server.listening()[1]
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
                # The child ended as its handler started: no greeting.
                assert read_until_close(conn) == b""
    finally:
        assert server.stop() == 0
    assert server.stderr == ""
