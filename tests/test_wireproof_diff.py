"""``wireproof diff``: differences found, noise told apart, errors in one line.

The servers here are tests/wireproof_mutant.py (an echo server and its
mutants), tests/wireproof_echo.js (the same echo server in Node.js), and the
legacy originals under Python 2.7 against their ports.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.contract.implementations import missing
from tests.procs import REPO
from wireproof import sessions
from wireproof.ledger import LEDGER
from wireproof.procs import WAIT, Proc, python_module, run
from wireproof.servers import STARTUP
from wireproof.session import LIMIT_NOFILE

DIFF_TIMEOUT = 240.0


def mutant(mode: str) -> str:
    return f"{sys.executable} tests/wireproof_mutant.py {mode} --port {{port}}"


def wireproof_diff(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run diff with a report; its status, the JSON report and standard output."""
    result = run(python_module("wireproof", "diff", *args, "--report", str(tmp_path)),
                 timeout=DIFF_TIMEOUT)
    output = result.stdout.decode("utf-8", "backslashreplace")
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    report = json.loads((tmp_path / "diff.json").read_text())
    return result.returncode, report, output


def differing(report: dict[str, Any]) -> set[str]:
    return {f["session"] for f in report["findings"] if f["kind"] == "difference"}


def test_a_server_is_the_same_as_itself(tmp_path: Path) -> None:
    status, report, output = wireproof_diff(tmp_path, "--primary", mutant("echo"),
                                            "--candidate", mutant("echo"))
    assert status == 0, output
    assert report["summary"]["same"] and report["summary"]["differences"] == 0
    assert len(report["sessions"]) == len(sessions.battery())
    markdown = (tmp_path / "diff.md").read_text()
    assert markdown.rstrip().splitlines()[-1] == report["summary"]["text"]
    assert output.rstrip().splitlines()[-1] == report["summary"]["text"]


# Each mutant, and a session where the difference must show.
MUTANTS = [
    ("greeting", "connect and listen", "first difference at offset 4"),
    ("no-close", "half-close", "expected closed, observed timeout"),
    ("crash-on-reset", "reset mid-session", "exited with status 1"),
    ("upper", "one line", "expected b'hello\\n', observed b'HELLO\\n'"),
    ("drop-tenth", "50 at once", "13 B expected, 0 B observed"),
]


@pytest.mark.parametrize("mode, session, detail", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_a_mutant_is_a_difference(tmp_path: Path, mode: str, session: str,
                                  detail: str) -> None:
    status, report, output = wireproof_diff(tmp_path, "--primary", mutant("echo"),
                                            "--candidate", mutant(mode))
    assert status == 1, output
    assert session in differing(report), output
    assert any(f["session"] == session and detail in f["detail"]
               for f in report["findings"] if f["kind"] == "difference"), output
    assert "**differs**" in (tmp_path / "diff.md").read_text()


def test_a_timestamp_in_the_reply_is_noise(tmp_path: Path) -> None:
    status, report, output = wireproof_diff(tmp_path, "--primary", mutant("timestamp"),
                                            "--candidate", mutant("timestamp"))
    assert status == 0, output
    assert report["summary"]["differences"] == 0
    noise = [f for f in report["findings"] if f["kind"] == "noise"]
    assert noise and all(f["what"] == "bytes" for f in noise)
    assert "hello at " in str(noise[0]["expected"])


def test_a_server_we_did_not_write_against_a_python_port_of_it(tmp_path: Path) -> None:
    require(None if shutil.which("node") else "Node.js (node) is not installed")
    status, report, output = wireproof_diff(
        tmp_path, "--primary", "node tests/wireproof_echo.js {port}",
        "--candidate", mutant("echo"))
    assert status == 0, output
    assert report["servers"]["primary"]["started"]
    # And the port that drifts from it is caught.
    status, report, output = wireproof_diff(
        tmp_path, "--primary", "node tests/wireproof_echo.js {port}",
        "--candidate", mutant("upper"))
    assert status == 1 and "one line" in differing(report), output


def test_a_sessions_file_replays_binary_steps(tmp_path: Path) -> None:
    sessions = {"sessions": [{"name": "binary", "steps": [
        {"op": "connect"}, {"op": "read", "bytes": 6},
        {"op": "send", "data": {"base64": "AP8KDQ=="}}, {"op": "read", "bytes": 4},
        {"op": "send", "data": "é\n", "chunk": 1, "gap_ms": 5}, {"op": "read", "bytes": 3},
        {"op": "shutdown"}, {"op": "read", "until": "close"}]}]}
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps(sessions))
    status, report, output = wireproof_diff(tmp_path, "--primary", mutant("echo"),
                                            "--candidate", mutant("upper"),
                                            "--sessions", str(path))
    observed = report["sessions"][0]["observed"]
    reads = [o for o in observed["candidate"][0] if o["step"].startswith("read")]
    assert reads[1] == {"step": "read 4 B", "outcome": "count", "data": {"base64": "AP8KDQ=="}}
    assert [o["outcome"] for o in reads] == ["count", "count", "count", "closed"]
    # Upper-casing leaves the binary bytes and the UTF-8 'é' alone: the same.
    assert status == 0, output


@pytest.mark.parametrize("args, message", [
    (["--primary", f"{sys.executable} -c pass {{port}}", "--candidate", "127.0.0.1:1"],
     "wireproof: the primary server did not start (exited with status 0)"),
    (["--primary", "127.0.0.1:1", "--candidate", "127.0.0.1:1"],
     "wireproof: the primary server at 127.0.0.1:1 refuses connections"),
    (["--primary", "no port here", "--candidate", "127.0.0.1:1"],
     "wireproof: --primary 'no port here' is neither HOST:PORT nor a command"),
])
def test_what_cannot_run_is_one_line(args: list[str], message: str) -> None:
    result = run(python_module("wireproof", "diff", *args), timeout=60)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith(message), lines


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"),
    ('{"sessions": [{"steps": [{"op": "send", "data": "x"}]}]}',
     "the first step must be"),
    ('{"sessions": [{"steps": [{"op": "connect"}, {"op": "read"}]}]}',
     "read takes exactly one of"),
    ('{"sessions": [{"steps": [{"op": "connect"}, {"op": "send", "data": {"base64": "%"}}]}]}',
     "not base64"),
    ('{"sessions": [{"steps": [{"op": "connect"}, {"op": "jump"}]}]}', "\"op\" is one of"),
    ('{"sessions": [{"steps": [{"op": "suspend"}, {"op": "send", "data": "x"}]}]}',
     "the first step must be"),
    ('{"sessions": [{"steps": [{"op": "connect"}, {"op": "close"}, {"op": "resume"},'
     ' {"op": "send", "data": "x"}]}]}', "only suspend or resume may follow it"),
    ('{"sessions": [{"together": 1, "steps": [{"op": "connect"}]}]}',
     "\"together\" must be true or false"),
])
def test_a_malformed_sessions_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sessions.json"
    path.write_text(text)
    result = run(python_module("wireproof", "diff", "--primary", "127.0.0.1:1",
                               "--candidate", "127.0.0.1:1", "--sessions", str(path)))
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"wireproof: {path}") and message in lines[0], lines


def test_hold_beyond_the_hard_descriptor_limit_is_one_line() -> None:
    result = run([sys.executable, "-c", LIMIT_NOFILE, "256",
                  *python_module("wireproof", "diff", "--primary", "127.0.0.1:1",
                                 "--candidate", "127.0.0.1:1", "--hold", "1100")])
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and lines == [
        "wireproof: --hold needs 3364 descriptors and the hard limit is 256 (ulimit -Hn)"]


def test_suspend_is_skipped_where_a_server_was_not_started(tmp_path: Path) -> None:
    server = Proc([sys.executable, "tests/wireproof_mutant.py", "echo", "--port", "0"],
                  cwd=REPO)
    try:
        _, port = server.listening()
        path = tmp_path / "sessions.json"
        path.write_text('{"sessions": [{"name": "frozen", "steps": [{"op": "suspend"}, '
                        '{"op": "connect"}, {"op": "reset"}, {"op": "resume"}]}]}')
        status, report, output = wireproof_diff(
            tmp_path, "--primary", f"127.0.0.1:{port}", "--candidate", f"127.0.0.1:{port}",
            "--sessions", str(path))
    finally:
        server.stop()
    assert status == 0, output
    steps = report["sessions"][0]["observed"]["primary"][0]
    assert [(o["step"], o["outcome"]) for o in steps] == [
        ("suspend", "skipped: a server the tool did not start"), ("connect", "ok"),
        ("reset", "ok"), ("resume", "skipped: a server the tool did not start")]


# -- the originals against their ports -------------------------------------------

PORTS = {"v1_server": "blocking_server", "v2_socketserver": "socketserver_server",
         "v3_forking": "forking_server", "v3_threading": "threading_server",
         "v4_select": "select_server", "v4_poll": "poll_server"}

# Which of the battery's sessions shows which ledger case.  A server that a
# session kills is started again for the next, so a death shows where it
# happens and nowhere else.
SHOWN_BY = {"chat.half_close": {"half-close"},
            "chat.reset": {"reset mid-session"},
            # Each reset of the battery can be the storm's first.
            "load.reset_storm": {"reset mid-session", "reset before accept", "reset at once"},
            "chat.reset_before_accept": {"reset before accept", "reset at once"},
            "load.fd_setsize": {"1100 held at once"}}
# Deterministic, so required, not only allowed: the half-close is a state, a
# reset before accept is one the server must meet, and the fds held are real.
REQUIRED = {"v1_server": {"reset before accept"},
            "v4_select": {"half-close", "reset mid-session", "reset before accept",
                          "1100 held at once"},
            "v4_poll": {"half-close", "reset mid-session", "reset before accept"}}
# select()'s FD_SETSIZE is the only limit 1,100 connections meet among these.
HOLD = {"v4_select": ["--hold", "1100"]}


def documented(original: str) -> set[str]:
    """The sessions in which the ledger lets this original differ."""
    return {session for entry in LEDGER
            if fnmatch.fnmatchcase(f"{original}/legacy", entry.implementations)
            for session in SHOWN_BY.get(entry.case, ())}


@pytest.mark.parametrize("original", PORTS)
def test_the_original_and_its_port_differ_only_where_the_ledger_says(
        tmp_path: Path, original: str) -> None:
    require(missing("python2.7"))
    status, report, output = wireproof_diff(
        tmp_path,
        "--primary", f"{sys.executable} -m compat.run legacy/{original}.py --port {{port}}",
        "--candidate", f"{sys.executable} -m modern.{PORTS[original]} --port {{port}}",
        *HOLD.get(original, []))
    found = differing(report)
    assert found <= documented(original), output
    assert REQUIRED.get(original, set()) <= found, output
    assert status == (1 if found else 0)


@pytest.mark.parametrize("page", ["docs/migration.md", "docs/zh-CN/migration.md"])
def test_the_guides_example_sessions_file_is_valid(tmp_path: Path, page: str) -> None:
    text = (REPO / page).read_text(encoding="utf-8")
    example = text.split("<!-- not run: a sessions file, not a command -->\n```json\n")[1]
    path = tmp_path / "example.json"
    path.write_text(example.split("\n```\n")[0])
    login, fifty, dead = sessions.load(path)
    assert login.steps[4].data == b"\x00\xff" and login.steps[4].chunk == 1
    assert (fifty.copies, fifty.stagger_ms) == (50, 50)
    assert [step.op for step in dead.steps] == ["suspend", "connect", "reset", "resume"]


def test_the_servers_it_started_are_stopped_when_it_is(tmp_path: Path) -> None:
    diff = Proc(python_module("wireproof", "diff", "--primary", mutant("echo"),
                              "--candidate", mutant("echo")))
    try:
        # Its first line comes once both servers listen and the first session
        # has run: as long as the tool itself allows, which under load was
        # more than WAIT (each server STARTUP, waited for one after the
        # other, as it allows an original on a busy machine; the session's
        # waits, WAIT).
        first = diff.line(0, 2 * STARTUP + WAIT)
        assert first is not None and first.startswith(b"ran "), diff.stderr[-2000:]
        started = diff.children()
        assert len(started) == 3, started
        assert diff.stop(signal.SIGTERM) == 130
    finally:
        diff.kill()
    assert diff.stderr.strip() == "wireproof: interrupted"
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", pid
