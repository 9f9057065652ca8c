"""wireproof.procs: what a process tree is doing, read from /proc (Linux)."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from wireproof import procs
from wireproof.procs import WAIT, Proc

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"),
                                reason="reads /proc (Linux)")

# A parent that sleeps and a child that spins (or, with "sleep", blocks in a
# read of a pipe only the parent can write to): both write their PID (a line
# in one write), and the child ends once the parent is gone.  Blocking, not
# napping: a process that wakes often waits in the run queue at each wake-up,
# and on a loaded machine that adds up to half a second per second.
TREE = r"""
import os, sys, time
mode, parent = sys.argv[1], os.getpid()
gone, keep = os.pipe()
if os.fork() == 0:
    os.close(keep)
    os.write(1, b"child %d\n" % os.getpid())
    if mode == "spin":
        while os.getppid() == parent:
            pass
    else:
        os.read(gone, 1)
    os._exit(0)
os.close(gone)
os.write(1, b"parent %d\n" % os.getpid())
time.sleep(60)
"""


def tree(mode: str) -> tuple[Proc, int]:
    proc = Proc([sys.executable, "-c", TREE, mode])
    if not proc.wait_until(lambda: len(proc.lines) == 2):
        proc.kill()
        raise AssertionError(f"no PIDs: {proc.lines} {proc.stderr}")
    return proc, int(dict(line.split() for line in proc.lines)[b"child"])


@pytest.mark.parametrize("mode", ["spin", "sleep"])
def test_busy_seconds_covers_the_children(mode: str) -> None:
    proc, child = tree(mode)
    try:
        before = proc.busy_seconds()
        proc.wait(1.0)  # the interval is the measurement
        after = proc.busy_seconds()
    finally:
        proc.kill()
    assert set(after) == {proc.pid, child}
    used = {pid: after[pid] - before[pid] for pid in after}
    assert used[proc.pid] < 0.1
    if mode == "spin":
        # Running or waiting to run all the time, however loaded the machine.
        assert used[child] > 0.5, used
    else:
        assert used[child] < 0.1, used


def test_asleep_tells_a_waiting_process_from_a_running_one() -> None:
    if os.uname().machine != "x86_64" or not os.path.exists("/proc/self/syscall"):
        pytest.skip("reads /proc/PID/syscall with x86-64 numbers")
    sleeper = Proc([sys.executable, "-c", "import time; print(1, flush=True); time.sleep(60)"])
    spinner = Proc([sys.executable, "-c", "print(1, flush=True)\nwhile True: pass"])
    try:
        assert sleeper.wait_until(lambda: bool(sleeper.lines)) and \
            spinner.wait_until(lambda: bool(spinner.lines))
        assert sleeper.wait_until(lambda: sleeper.asleep() is True, WAIT)
        assert spinner.asleep() is False
    finally:
        sleeper.kill()
        spinner.kill()
    assert spinner.asleep() is True  # an exited process has nothing pending


def test_tree_lists_the_children_as_a_scan_of_proc_finds_them() -> None:
    proc, child = tree("sleep")
    try:
        listed = procs.tree(proc.pid)
        scanned = [proc.pid, *procs._scan_descendants(proc.pid)]
    finally:
        proc.kill()
    assert listed == scanned == [proc.pid, child]
    # Once the process has ended, nothing is below it any more.
    assert procs.tree(proc.pid) == [proc.pid] and procs._scan_descendants(proc.pid) == []


def test_a_child_meets_sigint_at_its_default_though_this_process_ignores_it() -> None:
    # As a background job of a non-interactive shell would be started: SIGINT
    # ignored, which exec keeps.  Its Proc's child must still see Ctrl-C.
    shows = ("import signal; "
             "print('ignored' if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else 'seen')")
    runs = ("import sys; from wireproof.procs import Proc, WAIT; "
            f"child = Proc([sys.executable, '-c', {shows!r}]); "
            "print(child.line(0, WAIT).decode()); child.wait(WAIT)")
    background = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                  f"os.execv(sys.executable, [sys.executable, '-c', {runs!r}])")
    ignored = Proc([sys.executable, "-c", f"{background.split('; os.')[0]}; {shows}"])
    assert ignored.line(0) == b"ignored"  # what the child would inherit
    parent = Proc([sys.executable, "-c", background])
    assert parent.line(0) == b"seen", parent.stderr
    assert parent.wait() == 0, parent.stderr


@pytest.mark.parametrize("held", ["blocked", "ignored"])
def test_a_process_that_outlives_its_stop_signal_says_how_it_stood(held: str) -> None:
    # A blocked signal stays pending and an ignored one is dropped: either
    # way the process sleeps on, and stop() says which.
    hold = ("signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})" if held == "blocked"
            else "signal.signal(signal.SIGINT, signal.SIG_IGN)")
    proc = Proc([sys.executable, "-c",
                 f"import signal, time; {hold}; print('ready', flush=True); time.sleep(60)"])
    try:
        assert proc.line(0) == b"ready"
        assert proc.stop(signal.SIGINT, timeout=0.2) is None
        expected = ("SIGINT caught, blocked, pending" if held == "blocked"
                    else "SIGINT ignored")
        assert proc.outlived.startswith("S in "), proc.outlived
        assert proc.outlived.endswith(expected), proc.outlived
    finally:
        proc.kill()
    assert procs.signal_state(proc.pid, signal.SIGINT) == ""  # gone
