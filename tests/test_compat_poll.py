"""compat.poll against the real select.poll: the same tests, side by side."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from compat import poll as compat_poll

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


def test_mask_without_read_or_write_is_refused_by_compat_only(pair: Any) -> None:
    with pytest.raises(ValueError, match="watches neither reading nor writing"):
        compat_poll.poll().register(pair[0], compat_poll.POLLERR)
