"""The oracle comes from the originals: recorded from them, checked against them,
and a port that drifts from it fails as the port."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import require
from tests.contract.implementations import missing
from tests.procs import REPO
from wireproof import originals
from wireproof.procs import Proc, python_module, run

RECORDED = json.loads(originals.RECORDING.read_text(encoding="utf-8"))["originals"]


def test_the_recording_covers_every_legacy_server_and_is_of_the_scripts_here() -> None:
    assert list(RECORDED) == list(originals.SCRIPTS)
    for name, entry in RECORDED.items():
        assert entry["sha256"] == originals.digest(REPO / entry["script"]), (
            f"legacy/{name}.py changed since the recording: run "
            "python -m wireproof.originals --write and review the difference")


@pytest.mark.parametrize("name", originals.SCRIPTS)
def test_the_original_still_sends_what_the_recording_says(name: str) -> None:
    require(missing("python2.7"))
    seen = originals.observe(python_module("compat.run", f"legacy/{name}.py",
                                           "--host", "127.0.0.1", "--port", "0"))
    assert seen == originals.CONVERSATIONS[name]


def check_greeting(server_argv: list[str]) -> tuple[int, str]:
    server = Proc(server_argv)
    try:
        host, port = server.listening()
        result = run(python_module("wireproof", "check", "--target", f"{host}:{port}",
                                   "--like", "v1_server", "-k", "greet.basic"), timeout=60)
    finally:
        server.kill()
    return result.returncode, result.stdout.decode("utf-8", "backslashreplace")


# blocking_server with its own table's greeting changed by one byte, as a
# port that drifted would have it.
DRIFTED = ("import runpy, sys; import modern.common as c; "
           "c.CONVERSATIONS['v1_server'] = c.Conversation(b'thx for coNn', closes=True); "
           "sys.argv[0] = 'blocking_server'; "
           "runpy.run_module('modern.blocking_server', run_name='__main__')")


def test_a_port_whose_greeting_drifts_fails_as_the_port() -> None:
    status, output = check_greeting([sys.executable, "-c", DRIFTED, "--port", "0"])
    assert status == 1, output
    assert "fail greet.basic" in output
    assert "Expected: b'thx for conn'" in output  # the original's
    assert "Observed: b'thx for coNn'" in output  # the port's


def test_the_original_passes_where_the_drifted_port_fails() -> None:
    require(missing("python2.7"))
    status, output = check_greeting(python_module("compat.run", "legacy/v1_server.py",
                                                  "--port", "0"))
    assert status == 0, output
    assert "pass greet.basic" in output
