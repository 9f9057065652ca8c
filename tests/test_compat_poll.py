"""compat.poll against the real select.poll: the same tests, side by side."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from compat import poll as compat_poll
from tests.conftest import require
from tests.procs import REPO
from wireproof.procs import WAIT

POLLS: list[Any] = [pytest.param(compat_poll, id="compat.poll")]
if hasattr(select, "poll"):
    POLLS.insert(0, pytest.param(select, id="select.poll"))


@pytest.fixture(params=POLLS)
def api(request: pytest.FixtureRequest) -> Any:
    """The module whose ``poll()`` and ``POLL*`` constants are under test."""
    return request.param


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    with a, b:
        yield a, b


def ready(poller: Any, timeout_ms: int = 0) -> dict[int, int]:
    return dict(poller.poll(timeout_ms))


def test_constants_match_the_platform(api: Any) -> None:
    for name in ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL"):
        if hasattr(select, name):
            assert getattr(api, name) == getattr(select, name)


def test_readable_only_once_data_arrives(api: Any, pair: Any) -> None:
    a, b = pair
    poller = api.poll()
    poller.register(a, api.POLLIN)
    assert ready(poller) == {}
    b.sendall(b"x")
    assert ready(poller, 1000) == {a.fileno(): api.POLLIN}


def test_default_mask_includes_pollout(api: Any, pair: Any) -> None:
    # The legacy poll server's busy loop, in one assertion.
    a, _ = pair
    poller = api.poll()
    poller.register(a)
    assert ready(poller)[a.fileno()] & api.POLLOUT


def test_register_again_replaces_the_mask(api: Any, pair: Any) -> None:
    a, _ = pair
    poller = api.poll()
    poller.register(a, api.POLLOUT)
    poller.register(a.fileno(), api.POLLIN)
    assert ready(poller) == {}


def test_modify_changes_the_mask(api: Any, pair: Any) -> None:
    a, _ = pair
    poller = api.poll()
    poller.register(a, api.POLLIN)
    poller.modify(a, api.POLLOUT)
    assert ready(poller) == {a.fileno(): api.POLLOUT}


def test_modify_of_an_unwatched_fd_raises_file_not_found(api: Any, pair: Any) -> None:
    poller = api.poll()
    with pytest.raises(FileNotFoundError):
        poller.modify(pair[0], api.POLLIN)


def test_unregister_twice_raises_key_error(api: Any, pair: Any) -> None:
    a, _ = pair
    poller = api.poll()
    poller.register(a, api.POLLIN)
    poller.unregister(a)
    with pytest.raises(KeyError):
        poller.unregister(a)


def test_peer_close_reports_readable_then_recv_sees_eof(api: Any, pair: Any) -> None:
    a, b = pair
    poller = api.poll()
    poller.register(a, api.POLLIN)
    b.close()
    events = ready(poller, 1000)
    # select.poll may add POLLHUP; compat.poll documents that it cannot.
    assert events[a.fileno()] & api.POLLIN
    assert a.recv(10) == b""


@pytest.mark.parametrize("timeout", [None, -1])
def test_no_timeout_waits_for_an_event(api: Any, pair: Any,
                                       timeout: int | None) -> None:
    a, b = pair
    poller = api.poll()
    poller.register(a, api.POLLIN)
    b.sendall(b"x")
    assert poller.poll(timeout) == [(a.fileno(), api.POLLIN)]


def test_mask_of_errors_only_is_accepted_and_never_reported_by_compat(pair: Any) -> None:
    poller = compat_poll.poll()
    poller.register(pair[0], compat_poll.POLLERR)
    pair[1].sendall(b"x")
    assert poller.poll(0) == []


UPSTREAM = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_poll.py"

# CPython's own test_poll with select.poll replaced by compat.poll.poll (its
# POLL* constants are Linux's, as select's are here).  test_poll2 needs the
# 'walltime' resource (ten seconds of a shell loop): it is left out, as
# regrtest leaves it out by default.
UPSTREAM_RUNNER = """\
import json, select, unittest
from test import support
support.use_resources = []
from compat import poll as compat_poll
select.poll = compat_poll.poll
from test import test_poll
outcome = {}
class Result(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        outcome[test._testMethodName] = "pass"
    def addFailure(self, test, err):
        super().addFailure(test, err)
        outcome[test._testMethodName] = "fail"
    def addError(self, test, err):
        super().addError(test, err)
        outcome[test._testMethodName] = "error"
    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        outcome[test._testMethodName] = "skip"
suite = unittest.defaultTestLoader.loadTestsFromModule(test_poll)
unittest.TextTestRunner(resultclass=Result, verbosity=2).run(suite)
print(json.dumps(outcome, sort_keys=True))
"""


@pytest.mark.skipif(not hasattr(select, "poll"), reason="test_poll skips itself without poll")
def test_cpython_test_poll_passes_on_compat_poll(tmp_path: Path) -> None:
    require(None if UPSTREAM.is_file() else f"CPython's test suite is not installed ({UPSTREAM})")
    result = subprocess.run([sys.executable, "-c", UPSTREAM_RUNNER], cwd=tmp_path,
                            capture_output=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome.pop("test_poll2") == "skip"
    assert outcome == dict.fromkeys(outcome, "pass"), result.stderr.decode(errors="replace")
    assert len(outcome) == 6


@pytest.fixture
def closed_fd() -> int:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r


def test_argument_checks_are_select_polls() -> None:
    poller = compat_poll.poll()

    class NoFileno:
        pass

    class BadFileno:
        def fileno(self) -> str:
            return "fileno"

    for bad in (NoFileno(), BadFileno(), poller):
        with pytest.raises(TypeError):
            poller.register(bad)
    with pytest.raises(ValueError):
        poller.register(0, -1)
    with pytest.raises(OverflowError):
        poller.register(0, 1 << 16)
    with pytest.raises(OverflowError):
        poller.poll(1 << 31)
    with pytest.raises(TypeError):
        poller.poll("soon")


def test_a_descriptor_that_is_not_open_is_pollnval(closed_fd: int) -> None:
    poller = compat_poll.poll()
    poller.register(closed_fd)
    assert poller.poll(0) == [(closed_fd, compat_poll.POLLNVAL)]


def test_two_threads_polling_one_object_is_a_runtime_error(pair: Any) -> None:
    a, b = pair
    poller = compat_poll.poll()
    poller.register(a, compat_poll.POLLIN)
    waiting = threading.Thread(target=poller.poll, args=(WAIT * 1000,))
    waiting.start()
    try:
        # Until the thread is inside poll(), a second poll() is allowed: wait for that.
        deadline = time.monotonic() + WAIT
        while not poller._polling:
            assert time.monotonic() < deadline
            waiting.join(0.001)
        with pytest.raises(RuntimeError, match="concurrent poll"):
            poller.poll(0)
    finally:
        b.sendall(b"x")
        waiting.join(WAIT)
    assert not waiting.is_alive()
