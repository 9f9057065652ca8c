"""The benchmark's behaviour, not its speed: statistics, load, syscalls, the CLI.

No figure is asserted beyond "positive" or "sane": these run on shared
machines, and the benchmark's targets are reported by the benchmark itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modern.common import CONVERSATIONS
from sockbench import loadgen, native, registry, report, runner, servers, stats, syscalls
from sockbench.idle import IdleConnections
from sockbench.registry import by_name, implementations
from sockbench.servers import Server, nginx_path, start_nginx
from tests.conftest import require
from wireproof.procs import WAIT, Proc, listen_queues, python_module, read_until_close, run

# The whole CLI run is bounded by this (a 1-round greet is a few seconds).
CLI_WAIT = 50.0


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 100) == 100.0
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert stats.percentile([7.0], 99) == 7.0


def test_median_and_spread_of_known_data() -> None:
    assert stats.median([5.0, 1.0, 3.0, 2.0]) == 2.5
    assert stats.spread([4.0, 1.0, 9.0]) == {"median": 4.0, "min": 1.0, "max": 9.0}


@pytest.mark.parametrize("function", [stats.median, lambda v: stats.percentile(v, 50)])
def test_statistics_of_nothing_are_an_error(function: Any) -> None:
    with pytest.raises(ValueError):
        function([])


def test_ratio_is_none_without_a_reference() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(3.0, None) is None
    assert stats.ratio(None, 2.0) is None
    assert stats.ratio(3.0, 0.0) is None


def test_paired_ratio_is_the_median_of_round_by_round_ratios() -> None:
    # A slow middle round slows both alike: the paired ratio stays 2.
    assert stats.paired_ratio([200.0, 20.0, 220.0], [100.0, 10.0, 110.0]) == 2.0
    assert stats.paired_ratio([1.0, 3.0], [0.0, 1.0]) == 3.0
    assert stats.paired_ratio([1.0], [0.0]) is None


@pytest.mark.parametrize("mechanism", syscalls.MECHANISMS)
@pytest.mark.parametrize("idle", [0, 10, 200])
def test_wait_cost_is_a_sane_positive_time(mechanism: str, idle: int) -> None:
    cost = syscalls.wait_cost(mechanism, idle, seconds=0.005)
    assert cost is not None
    assert 0 < cost < 0.1


def test_select_cannot_watch_past_fd_setsize() -> None:
    # The test session raises its descriptor limit to 4,096 (tests/conftest.py).
    assert syscalls.wait_cost("select", syscalls.FD_SETSIZE + 10, seconds=0.001) is None


def test_every_implementation_serves_on_a_free_loopback_port() -> None:
    impls = implementations()
    # and v4_select by thread, by process; v1_server by the Protocol reference
    # on each loop, and selectors, asyncio and uvloop in two processes
    assert len(impls) == len(CONVERSATIONS) * 5 + 7
    for impl in impls:
        assert by_name(impl.name) == impl
        argv = impl.argv("127.0.0.1")
        assert argv[argv.index("--port") + 1] == "0"
        assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert [i.name for i in impls if runner.applies("chat", i) and i.legacy] == [
        "v4_select/legacy", "v4_poll/legacy"]


def test_a_workers_variant_is_its_server_in_two_processes() -> None:
    for variant, one in registry.WORKERS_VARIANTS.items():
        argv = by_name(f"v1_server/{variant}").argv("127.0.0.1")
        assert argv == [*by_name(f"v1_server/{one}").argv("127.0.0.1"), "--workers", "2"]


def test_unknown_implementation_names_are_refused() -> None:
    for name in ("v4_select", "v4_select/fast", "v9/port", "v4_poll/threading",
                 "v4_select/uvloop-protocol", "v4_select/selectors-workers"):
        with pytest.raises(KeyError):
            by_name(name)


@pytest.fixture(scope="session")
def built() -> Path:
    """The C generator, built once for the session into its own cache."""
    require(None if shutil.which(native.compiler()) else "no C compiler (cc)")
    return native.build()


def _c_run(binary: Path, job: loadgen.Job) -> loadgen.WorkerResult:
    return native.worker_result(native.run_all([native.conn_argv(binary, job)], WAIT)[0])


def _c_stream(binary: Path, job: loadgen.StreamJob) -> loadgen.StreamResult:
    return native.stream_result(native.run_all([native.stream_argv(binary, job)], WAIT)[0])


Run = Callable[[loadgen.Job], loadgen.WorkerResult]
Stream = Callable[[loadgen.StreamJob], loadgen.StreamResult]


@pytest.fixture(params=["python", "c"])
def load(request: pytest.FixtureRequest) -> Run:
    """Each generator's greet and chat run: the same behaviour is asked of both."""
    if request.param == "python":
        return loadgen.run
    binary = request.getfixturevalue("built")
    return lambda job: _c_run(binary, job)


@pytest.fixture(params=["python", "c"])
def stream_load(request: pytest.FixtureRequest) -> Stream:
    """Each generator's stream run."""
    if request.param == "python":
        return loadgen.stream
    binary = request.getfixturevalue("built")
    return lambda job: _c_stream(binary, job)


def test_the_c_generator_is_built_once_per_source_and_compiler(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = native.build()
    assert first.parent == tmp_path / "socket-models"
    assert first.name == built.name  # the key does not depend on where the cache is
    mtime = first.stat().st_mtime_ns
    assert native.build() == first and first.stat().st_mtime_ns == mtime
    # Nothing but the binary is left behind: the temporary file was renamed.
    assert [p.name for p in first.parent.iterdir()] == [first.name]


def test_without_a_compiler_the_build_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.COMPILER_VARIABLE, "/no/such/cc")
    with pytest.raises(native.Unavailable, match="no C compiler: '/no/such/cc' not found"):
        native.build()


def test_a_compiler_that_fails_is_reported_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    false = tmp_path / "cc"
    false.write_text("#!/bin/sh\necho 'cc: error: out of cheese' >&2\nexit 1\n")
    false.chmod(0o755)
    monkeypatch.setenv(native.COMPILER_VARIABLE, str(false))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(native.Unavailable, match="failed: cc: error: out of cheese"):
        native.build()
    assert list((tmp_path / "cache" / "socket-models").iterdir()) == []


def test_without_a_compiler_the_python_generator_runs_and_the_report_says_so(
        tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = run(python_module("sockbench", "--quick", "--scenario", "greet",
                             "--impl", "v1_server/port", "--duration", "0.2", "--json", str(out)),
               timeout=CLI_WAIT, env={native.COMPILER_VARIABLE: "/no/such/cc"})
    assert done.returncode == 0, done.stderr.decode()
    first = done.stdout.decode().splitlines()[0]
    assert first.startswith("load generator: Python, the C one cannot be built (no C compiler")
    assert json.loads(out.read_text())["generator"] == first
    assert json.loads(out.read_text())["scenarios"]["greet"]["results"]["v1_server/port"][
        "conn_per_s"]["median"] > 0


def _server(module: str, *extra: str) -> tuple[Proc, int]:
    proc = Proc(python_module(f"modern.{module}", "--port", "0", *extra))
    return proc, proc.listening()[1]


def test_greet_load_reads_every_greeting_until_the_server_closes(load: Run) -> None:
    proc, port = _server("blocking_server", "-q")
    try:
        greeting = len(CONVERSATIONS["v1_server"].greeting)
        result = load(loadgen.Job("127.0.0.1", port, 4, 0.3, greeting, timeout=5.0))
    finally:
        assert proc.stop() == 0
    assert result.completed > 0
    assert not result.errors
    assert len(result.latencies) == result.completed + result.late
    assert 0 < result.window_cpu <= result.cpu


def test_chat_load_sends_its_payload_and_waits_for_the_close(load: Run) -> None:
    proc, port = _server("select_server")
    try:
        greeting = len(CONVERSATIONS["v4_select"].greeting)
        result = load(loadgen.Job("127.0.0.1", port, 2, 0.2, greeting,
                                         runner.CHAT_PAYLOAD, timeout=5.0))
    finally:
        assert proc.stop() == 0
    assert result.completed > 0
    assert not result.errors
    received = [line for line in proc.lines if line.startswith(b"received ")]
    disconnected = [line for line in proc.lines if line.startswith(b"disconnected ")]
    assert received and all(line.endswith(b" b'" + b"x" * 32 + b"'") for line in received)
    # The client counts a connection only once the server has closed it.
    assert len(disconnected) >= result.completed + result.late


def test_a_silent_server_is_an_error_not_a_hang(load: Run) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        result = load(loadgen.Job("127.0.0.1", port, 2, 0.1, 12, timeout=0.3))
    assert result.completed == 0
    assert result.errors["timeout"] >= 2
    assert result.wall < 5


def _bench(*args: str) -> Any:
    return run(python_module("sockbench", *args), timeout=CLI_WAIT)


def test_quick_greet_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = _bench("--quick", "--scenario", "greet", "--impl", "v1_server/port",
                  "--rounds", "1", "--duration", "0.3", "--json", str(out))
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(out.read_text())
    assert data["schema"] == report.SCHEMA
    assert {"cpus", "cpu_model", "kernel", "python", "python2", "nginx"} <= set(data["machine"])
    assert data["settings"]["rounds"] == 1
    greet = data["scenarios"]["greet"]
    assert greet["clients"] == 16
    result = greet["results"]["v1_server/port"]
    assert result["like"] == "v1_server" and result["legacy"] is False
    assert result["conn_per_s"]["median"] > 0
    spread = result["conn_per_s"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    assert result["ratio_to_legacy"] is None  # the original was not chosen
    assert len(result["rounds"]) == 1
    assert result["rounds"][0]["completed"] > 0
    assert result["generator_cpu"] > 0
    assert result["rounds"][0]["generator_bound"] in (True, False)
    assert greet["ceiling"]["conn_per_s"]["median"] > 0
    assert {v["status"] for v in data["targets"]} <= {"met", "missed", "not measured"}
    table = done.stdout.decode()
    assert table.splitlines()[0] == data["generator"]
    assert data["generator"].startswith("load generator: C" if shutil.which(native.compiler())
                                        else "load generator: Python")
    assert "v1_server/port" in table and "generator ceiling:" in table
    assert "gen/srv CPU by round" in table
    assert "round 1/1" in done.stderr.decode()


def test_two_processes_are_measured_against_one(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = _bench("--quick", "--scenario", "greet", "--impl", "v1_server/selectors",
                  "--impl", "v1_server/selectors-workers", "--rounds", "2", "--duration", "0.3",
                  "--json", str(out))
    assert done.returncode == 0, done.stderr.decode()
    results = json.loads(out.read_text())["scenarios"]["greet"]["results"]
    one, two = results["v1_server/selectors"], results["v1_server/selectors-workers"]
    assert "ratio_to_one_process" not in one
    assert two["processes"] == 2
    assert all(r["completed"] > 0 and not r["errors"] for r in two["rounds"])
    pairs = [b["conn_per_s"] / a["conn_per_s"] for a, b in zip(one["rounds"], two["rounds"],
                                                                strict=True)]
    assert two["ratio_to_one_process"] == pytest.approx(stats.median(pairs))
    assert two["server_cpu"] > 0  # the workers', not only the idle parent's
    assert (f"the servers' --workers N: N processes sharing the port over the same server "
            f"in one, round by round: v1_server/selectors-workers (2) "
            f"{two['ratio_to_one_process']:.2f}x"
            in done.stdout.decode())


def test_syscalls_scenario_reports_every_mechanism(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = _bench("--quick", "--scenario", "syscalls", "--rounds", "1", "--json", str(out))
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(out.read_text())["scenarios"]["syscalls"]
    assert set(data["results"]) == set(syscalls.MECHANISMS)
    for mechanism, by_count in data["results"].items():
        for n in data["idle_counts"]:
            cell = by_count[str(n)]
            if "unavailable" in cell:
                assert mechanism == "select" and n >= syscalls.FD_SETSIZE - 64
            else:
                assert cell["median"] > 0


def test_targets_say_which_port_is_slower_than_its_original() -> None:
    def result(name: str, ratio: float | None) -> dict[str, Any]:
        return {"legacy": name.endswith("/legacy"), "ratio_to_legacy": ratio,
                "conn_per_s": {"median": 100.0}}

    verdicts = report.targets({"scenarios": {"chat": {"results": {
        "v4_poll/legacy": result("v4_poll/legacy", 1.0),
        "v4_poll/port": result("v4_poll/port", 1.2),
        "v4_poll/asyncio": result("v4_poll/asyncio", 0.5),
    }}}})
    chat = next(v for v in verdicts if v["target"].startswith("chat:"))
    assert chat["status"] == "missed"
    assert "v4_poll/asyncio 0.50x" in chat["detail"]
    assert "v4_poll/port" not in chat["detail"]
    assert any(v["status"] == "not measured" and "idle" in v["target"] for v in verdicts)


@pytest.mark.parametrize("args, complaint", [
    (["--impl", "nope"], "unknown implementation 'nope'"),
    (["--scenario", "nope"], "invalid choice: 'nope'"),
    (["--idle-levels", "0,ten"], "not a list of numbers: '0,ten'"),
    (["--idle-levels", "0,20000"], "levels must be between 0 and 10,000"),
    (["--plot", "/no/such/dir/charts"], "--plot: no such directory"),
    (["--from", "/no/such/file.json"], "--from: cannot read /no/such/file.json"),
    (["--part", "models"], "--part needs --from FILE"),
    (["--embed", "README.md"], "--embed needs --from FILE"),
    (["--rounds", "0"], "must be positive"),
    (["--duration", "soon"], "invalid number 'soon'"),
    (["--json", "/no/such/dir/out.json"], "no such directory"),
    (["--scenario", "chat", "--impl", "v1_server/port"], "no chosen implementation speaks"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_give_one_line_and_exit_2(args: list[str], complaint: str) -> None:
    done = _bench(*args)
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert complaint in lines[0]
    assert not done.stdout


def test_stream_counts_exactly_the_bytes_the_server_reports(stream_load: Stream) -> None:
    # One message per send, briefly, and the server not silenced: every byte
    # the generator counts must be in the server's received lines.
    proc, port = _server("poll_server")
    try:
        result = stream_load(loadgen.StreamJob("127.0.0.1", port, 3, 0.05, 0,
                                                  batch=1, timeout=WAIT))
        assert proc.wait_until(lambda: sum(line.startswith(b"disconnected ")
                                           for line in proc.lines) == 3)
    finally:
        assert proc.stop() == 0
    assert result.connections == 3 and not result.errors
    assert 0 < result.seconds < WAIT
    received = b"".join(eval(line.split(b" ", 2)[2]) for line in proc.lines
                        if line.startswith(b"received "))
    assert len(received) == result.sent > 0
    assert received == b"x" * result.sent


def test_opening_the_stream_outlasts_a_server_the_machine_does_not_run(
        stream_load: Stream) -> None:
    # A loaded machine may not run the server for longer than a conversation's
    # timeout (quick's is 0.5 s).  Opening the connections is not measured:
    # it must lose none of them to that, as it once lost one under load.
    proc, port = _server("selectors_server", "--like", "v4_select")
    timeout = 0.2
    stalled = threading.Event()

    def stall() -> None:
        # Stopped before the first connection comes, and kept so until that
        # connection has waited for its greeting well past the timeout.
        try:
            if _eventually(lambda: any(listen_queues(port) or [])):
                stalled.set()
                time.sleep(3 * timeout)  # the stall itself, not a wait for anything
        finally:
            os.kill(proc.pid, signal.SIGCONT)

    os.kill(proc.pid, signal.SIGSTOP)
    staller = threading.Thread(target=stall)
    staller.start()
    try:
        greeting = len(CONVERSATIONS["v4_select"].greeting)
        result = stream_load(loadgen.StreamJob("127.0.0.1", port, 3, 0.05, greeting,
                                                  timeout=timeout))
    finally:
        staller.join(WAIT)
        assert proc.stop() == 0
    assert stalled.is_set(), "the first connection never reached the stopped server"
    assert result.connections == 3 and not result.errors


def test_stream_does_not_count_bytes_the_server_never_confirmed(stream_load: Stream) -> None:
    # A server that accepts and never reads nor closes: nothing is counted.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        result = stream_load(loadgen.StreamJob("127.0.0.1", listener.getsockname()[1],
                                                  2, 0.05, 0, timeout=0.3))
    assert result.sent == 0 and result.connections == 0
    assert result.errors["not closed by the server"] == 2


def _bench_server(name: str, workdir: Path, *extra: str) -> Server:
    server = Server(name, [*by_name(name).argv("127.0.0.1"), *extra], workdir)
    server.wait_listening()
    return server


def test_idle_connections_are_held_counted_and_refusals_reported(tmp_path: Path) -> None:
    greeting = len(CONVERSATIONS["v4_select"].greeting)
    with _bench_server("v4_select/port", tmp_path, "--max-connections", "30") as server, \
            IdleConnections("127.0.0.1", server.port, greeting) as idle:
        assert idle.grow(30, timeout=WAIT) is None
        assert len(idle) == 30
        # And what it held before any connection: the listener, and the
        # socket pair its loop watches for SIGINT/SIGTERM.
        assert server.own_sockets == 3
        assert server.socket_count() == 30 + server.own_sockets
        assert idle.closed_by_server() == 0
        why = idle.grow(40, timeout=WAIT)
        assert why is not None and "closed connection 31 at once" in why
        assert len(idle) == 30
        assert server.alive()


def test_idle_connections_without_a_greeting_are_checked_by_the_server_count(
        tmp_path: Path) -> None:
    with _bench_server("v4_poll/port", tmp_path) as server, \
            IdleConnections("127.0.0.1", server.port, 0) as idle:
        assert idle.grow(50, timeout=WAIT) is None
        assert runner._wait_accepted(server, 50, timeout=WAIT) is None
        assert server.socket_count() == 50 + server.own_sockets
        server.stop()
        assert server.socket_count() is None
        # Every held connection now reads as closed by the server.
        assert idle.closed_by_server() == 50


def _eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Check ``condition`` every 20 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_server_cpu_memory_and_sockets_include_its_children(tmp_path: Path) -> None:
    # A parent that starts a child holding a socket; the child ends when the
    # parent does (its standard input is the parent's pipe).
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import socket, sys; "
            "s = socket.socket(); print(flush=True); sys.stdin.read()'], "
            "stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n"
            "child.stdout.readline()\n"
            "print('listening on 127.0.0.1:1', flush=True)\n"
            "child.wait()\n")
    with Server("parent", [sys.executable, "-c", code], tmp_path) as server:
        server.wait_listening()
        processes = server.processes()
        assert len(processes) == 2
        # The child's socket is the only one; its memory is counted too.
        assert server.socket_count() == 1
        parent_only = servers._memory(server.pid, root=True)
        assert parent_only is not None
        assert (server.memory_bytes() or 0) > parent_only > 0
        assert (server.cpu_seconds() or 0) > 0
    assert _eventually(lambda: not Path(f"/proc/{processes[1]}").exists())


def test_nginx_ceiling_greets_and_its_worker_is_measured(tmp_path: Path) -> None:
    require(None if nginx_path() else "nginx is not installed (apt-get install nginx "
            "libnginx-mod-stream)")
    greeting = CONVERSATIONS["v1_server"].greeting
    with start_nginx("127.0.0.1", greeting, tmp_path) as server:
        assert len(server.processes()) >= 2  # the master and its worker
        result = loadgen.run(loadgen.Job("127.0.0.1", server.port, 4, 0.3, len(greeting),
                                         timeout=5.0))
        assert result.completed > 0 and not result.errors
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as conn:
            assert read_until_close(conn) == greeting


def test_quick_stream_and_idle_write_their_figures_and_charts(tmp_path: Path) -> None:
    out, charts = tmp_path / "bench.json", tmp_path / "charts"
    done = _bench("--quick", "--scenario", "stream", "--scenario", "idle",
                  "--impl", "v4_poll/port", "--impl", "v4_select/selectors",
                  "--rounds", "1", "--duration", "0.3", "--idle-levels", "0,40",
                  "--json", str(out), "--plot", str(charts))
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(out.read_text())
    stream = data["scenarios"]["stream"]
    assert stream["clients"] == 16  # --quick: 16 stream connections, not 64
    for name in ("v4_poll/port", "v4_select/selectors"):
        result = stream["results"][name]
        assert result["msg_per_s"]["median"] > 0
        assert result["rounds"][0]["connections"] == 16
    idle = data["scenarios"]["idle"]
    assert idle["levels"] == [0, 40]
    for name in ("v4_poll/port", "v4_select/selectors"):
        result = idle["results"][name]
        assert result["most_idle_held"] == 40
        assert result["memory_per_connection"] is not None
        for level in ("0", "40"):
            cell = result["levels"][level]
            assert cell["p50_ms"] > 0 and 0 <= cell["idle_cpu"] < 1
    table = done.stdout.decode()
    assert "stream: 16 persistent connections" in table and "KiB/conn" in table
    pngs = sorted(charts.glob("*.png"))
    assert [p.name for p in pngs] == ["idle-latency.png", "idle-memory.png", "stream.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)

    replay = _bench("--from", str(out))
    assert replay.returncode == 0, replay.stderr.decode()
    assert replay.stdout.decode() == table
    part = _bench("--from", str(out), "--part", "models")
    assert part.returncode == 0, part.stderr.decode()
    models = part.stdout.decode().splitlines()
    assert models[0].startswith("model") and len(models) == 2 + 2  # header, rule, 2 servers
    assert any("selectors (epoll)" in line and "v4_select/selectors" in line for line in models)
    unknown = _bench("--from", str(out), "--part", "nope")
    assert unknown.returncode == 2 and "has no part 'nope'" in unknown.stderr.decode()


def test_a_file_that_is_not_a_report_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"schema": 1}')
    done = _bench("--from", str(bogus))
    assert done.returncode == 2
    assert "is not a report of schema" in done.stderr.decode()


PAGE = """# Figures

<!-- bench: machine -->
```
an old machine line
```

- In a list:

  <!-- bench: targets -->
  ```text
  old
  ```
"""


def test_embed_rewrites_each_marked_block_with_its_part() -> None:
    parts = {"machine": ["machine: 2 CPUs"], "targets": ["targets:", "", "  MET  x"]}
    page, changed = report.embed(PAGE, parts)
    assert changed == 2
    assert page == PAGE.replace("an old machine line", "machine: 2 CPUs").replace(
        "  old\n", "  targets:\n\n    MET  x\n")
    assert report.embed(page, parts) == (page, 0)


@pytest.mark.parametrize("page, complaint", [
    ("<!-- bench: machine -->\ntext\n", "line 1: no fenced block after the marker"),
    ("x\n<!-- bench: machine -->\n```\nnever closed\n", "line 2: no fenced block"),
    ("<!-- bench: nope -->\n```\n```\n", "line 1: the report has no part 'nope'"),
])
def test_embed_refuses_a_page_it_cannot_fill(page: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        report.embed(page, {"machine": ["m"]})


def test_embed_writes_the_committed_runs_parts_and_leaves_a_bad_page_alone(
        tmp_path: Path) -> None:
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text(PAGE)
    bad.write_text("<!-- bench: nope -->\n```\n```\n")
    source = str(Path(__file__).parents[1] / "docs" / "perf" / "bench.json")
    refused = _bench("--from", source, "--embed", str(good), "--embed", str(bad))
    assert refused.returncode == 2
    assert f"{bad}, line 1: the report has no part 'nope'" in refused.stderr.decode()
    assert good.read_text() == PAGE
    done = _bench("--from", source, "--embed", str(good))
    assert done.returncode == 0, done.stderr.decode()
    assert f"{good}: 2 block(s) rewritten" in done.stderr.decode()
    machine = _bench("--from", source, "--part", "machine").stdout.decode()
    assert f"<!-- bench: machine -->\n```\n{machine}```\n" in good.read_text()
