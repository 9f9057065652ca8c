"""The command line every server and client shares: options, errors, signals."""

from __future__ import annotations

import socket

import pytest

from wireproof.procs import Proc, python_module, run

SERVERS = ["blocking_server", "socketserver_server", "forking_server", "threading_server",
           "select_server", "poll_server", "selectors_server", "asyncio_server",
           "asyncio_protocol_server"]
CLIENTS = ["greet_client", "hello_client"]
# The servers that hold connections, and the threading server (a thread each).
LIMITED = ["threading_server", "select_server", "poll_server", "selectors_server",
           "asyncio_server", "asyncio_protocol_server"]
# The servers that speak another legacy server's conversation on request.
SPEAK_ANY = ["forking_server", "threading_server", "selectors_server", "asyncio_server",
             "asyncio_protocol_server"]
# The servers that can run as several processes on one port.
WORKERS = ["selectors_server", "asyncio_server"]


def one_error_line(stderr: bytes) -> str:
    """The single line a failed command must print; no traceback."""
    lines = stderr.decode("utf-8", "backslashreplace").splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


@pytest.mark.parametrize("module", SERVERS + CLIENTS)
def test_help_names_every_option(module: str) -> None:
    result = run(python_module(f"modern.{module}", "--help"))
    assert result.returncode == 0
    usage = result.stdout.decode()
    for option in ("--host", "--port"):
        assert option in usage
    assert ("--quiet" in usage) == (module in SERVERS)
    assert ("--timeout" in usage) == (module in CLIENTS)
    assert ("--max-connections" in usage) == (module in LIMITED)
    assert ("--like" in usage) == (module in SPEAK_ANY)
    assert ("--max-children" in usage) == (module == "forking_server")
    assert ("--workers" in usage) == (module in WORKERS)


@pytest.mark.parametrize("module", WORKERS)
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_number_of_workers_is_one_line_and_status_2(module: str, value: str) -> None:
    result = run(python_module(f"modern.{module}", "--workers", value))
    assert result.returncode == 2
    assert f"invalid number of workers {value!r}" in one_error_line(result.stderr)


@pytest.mark.parametrize("module", SERVERS + CLIENTS)
@pytest.mark.parametrize("args, complaint", [
    (["--port", "http"], "invalid port 'http'"),
    (["--port", "65536"], "outside 0-65535"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_argument_is_one_line_and_status_2(module: str, args: list[str],
                                               complaint: str) -> None:
    result = run(python_module(f"modern.{module}", *args))
    assert result.returncode == 2
    assert complaint in one_error_line(result.stderr)
    assert result.stdout == b""


@pytest.mark.parametrize("module", SERVERS)
def test_port_in_use_is_one_line_and_status_1(module: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run(python_module(f"modern.{module}", "--port", str(port)))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in one_error_line(
        result.stderr)


@pytest.mark.parametrize("module", SERVERS)
def test_unresolvable_host_is_one_line_and_status_1(module: str) -> None:
    result = run(python_module(f"modern.{module}", "--host", "no-such-host.invalid"))
    assert result.returncode == 1
    assert "cannot resolve 'no-such-host.invalid'" in one_error_line(result.stderr)


def hang_up(client: socket.socket, last_words: bytes = b"") -> bytes:
    """Send ``last_words``, shut down our side, read until the server closes.

    Every conversation ends cleanly this way: greeting servers have closed
    already (a send to them may meet a reset, hence none without words), the
    others close on our end of file.
    """
    if last_words:
        client.sendall(last_words)
    client.shutdown(socket.SHUT_WR)
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("module", SERVERS)
def test_serves_ipv6_and_brackets_the_address(module: str) -> None:
    server = Proc(python_module(f"modern.{module}", "--host", "::1", "--port", "0"))
    try:
        host, port = server.listening()
        assert host == "::1"
        assert server.lines[0] == f"listening on [::1]:{port}".encode()
        with socket.create_connection(("::1", port), timeout=10) as client:
            client_port = client.getsockname()[1]
            assert server.line(1) == f"connected [::1]:{client_port}".encode()
            hang_up(client)
    finally:
        assert server.stop() == 0
    assert server.stderr == ""


@pytest.mark.parametrize("module", SERVERS)
def test_quiet_prints_only_the_listening_line(module: str) -> None:
    like = ["--like", "v4_select"] if module in SPEAK_ANY else []
    server = Proc(python_module(f"modern.{module}", "--port", "0", "-q", *like))
    # Words only for servers that read: a greeting server may have closed.
    reads = module in ("select_server", "poll_server") or like
    try:
        _, port = server.listening()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            hang_up(client, b"quiet please" if reads else b"")
    finally:
        assert server.stop() == 0
    assert len(server.lines) == 1
    assert server.stderr == ""


@pytest.mark.parametrize("args, complaint", [
    (["--max-children", "0"], "invalid number of connections '0'"),
    (["--like", "v9"], "invalid choice: 'v9'"),
])
def test_forking_server_refuses_a_bad_bound_or_conversation(args: list[str],
                                                           complaint: str) -> None:
    result = run(python_module("modern.forking_server", *args))
    assert result.returncode == 2
    assert complaint in one_error_line(result.stderr)


def test_binding_every_interface_warns() -> None:
    server = Proc(python_module("modern.select_server", "--host", "0.0.0.0", "--port", "0"))
    try:
        assert server.listening()[0] == "0.0.0.0"
        assert server.wait_until(lambda: "warning: listening on every interface"
                                 in server.stderr)
    finally:
        assert server.stop() == 0


def test_asyncio_server_refuses_a_missing_uvloop_in_one_line() -> None:
    result = run([*python_module("modern.asyncio_server", "--loop", "uvloop", "--port", "0")],
                 env={"PYTHONPATH": "tests/no_uvloop"})
    assert result.returncode == 1
    assert "uvloop is not installed" in one_error_line(result.stderr)
