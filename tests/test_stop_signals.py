"""common.StopSignals: SIGINT and SIGTERM end a loop between two turns.

The select, poll and selectors loops keep a table of connections.  A
KeyboardInterrupt raised mid-statement (between ``peers.pop`` and the
``disconnected`` line, say) loses that connection's last event; while
StopSignals is held the signal only makes a descriptor readable.
"""

from __future__ import annotations

import os
import select
import signal
import threading

import pytest

from modern import common
from wireproof.procs import WAIT


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
