"""``python -m wireproof``: help on every subcommand, and --events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wireproof.procs import python_module, run


@pytest.mark.parametrize("words", [[], ["check"], ["diff"], ["record"]])
def test_every_subcommand_has_help(words: list[str]) -> None:
    result = run(python_module("wireproof", *words, "--help"))
    assert result.returncode == 0
    assert result.stdout.startswith(b"usage: python -m wireproof")
    assert b"Traceback" not in result.stderr


def test_no_subcommand_is_a_usage_error() -> None:
    result = run(python_module("wireproof"))
    assert result.returncode == 2 and b"usage:" in result.stderr


POLL = f"{sys.executable} -m modern.poll_server --port {{port}}"


def test_events_compares_the_servers_output_normalised(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.json"
    sessions.write_text(json.dumps({"sessions": [{"name": "hello", "steps": [
        {"op": "connect"}, {"op": "send", "data": "hi"}, {"op": "read", "quiet_ms": 200},
        {"op": "close"}]}]}))
    same = run(python_module("wireproof", "diff", "--primary", POLL, "--candidate", POLL,
                             "--sessions", str(sessions), "--events",
                             "--report", str(tmp_path)), timeout=120)
    assert same.returncode == 0, same.stdout.decode()
    events = json.loads((tmp_path / "diff.json").read_text())["events"]
    assert events["primary"][:2] == ["listening on <ip>:<port>", "connected <ip>:<port>"]
    assert events["primary"] == events["candidate"]

    # The same bytes on the wire, but no event lines (-q): a difference with
    # --events only.
    quiet = run(python_module("wireproof", "diff", "--primary", POLL,
                              "--candidate", POLL + " -q", "--sessions", str(sessions),
                              "--events"), timeout=120)
    assert quiet.returncode == 1, quiet.stdout.decode()
    assert b"DIFF  standard output: step 1 (events)" in quiet.stdout
