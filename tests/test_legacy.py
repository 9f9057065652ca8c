"""The originals stay as published, and the launcher runs them as they are."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from compat.run import find_python2
from tests.conftest import require
from tests.procs import REPO
from wireproof.procs import Proc, python_module, run

# SHA-256 of each script as the article printed it.  A change here is a change
# to the reference every port is compared against: there should be none.
PUBLISHED = {
    "v1_server.py":
        "e19bfce77cd94728c7839a5890bc08ec6284bbad74326bdea2a95a977eafc3e7",
    "v1_client.py":
        "7f653e2357ae2c68eb18c1d87a1d0c62c071a79c11fe4671599817413cd13a9a",
    "v2_socketserver.py":
        "b9722dff4b851d0980ee20417b8656f3810832407d48d41b186222ffeb3365e2",
    "v3_forking.py":
        "7a509e1a7a546fb49b8726147e15b7e11e960fbea7cea6f2de708face1a8212b",
    "v3_threading.py":
        "075c1abd1c379e3d93649ef381af29a3164b0d37aad89c431c25723275f65377",
    "v4_select.py":
        "3f6e0c43524be5ec0dfc57f105a0aff1fb023ac2af8475d161ab1097f0dc27b1",
    "v4_client.py":
        "643bcdbb6935a9d4bbe6773f24425492d2b69d750998665afc59051374f400f4",
    "v4_poll.py":
        "fb3b3af1690330029a6dca99a4d4f1043dabc336c3a0ca2c7585057c78194399",
}


@pytest.mark.parametrize("script", sorted(PUBLISHED))
def test_legacy_script_is_byte_for_byte_as_published(script: str) -> None:
    digest = hashlib.sha256((REPO / "legacy" / script).read_bytes()).hexdigest()
    assert digest == PUBLISHED[script]


def python2() -> str:
    found = find_python2()
    require(None if found else "no Python 2.7 found (set LEGACY_PYTHON, or install 2.7 "
                               "with pyenv)")
    assert found is not None
    return found


def test_v2_socketserver_does_not_start_as_published() -> None:
    # It fails while compiling, before it could bind anything.
    result = run([python2(), "legacy/v2_socketserver.py"])
    assert result.returncode == 1
    assert (b"SyntaxError: Non-ASCII character '\\xe5' in file legacy/v2_socketserver.py "
            b"on line 1, but no encoding declared") in result.stderr


def test_launcher_runs_v2_socketserver_unchanged_on_a_free_port() -> None:
    python2()
    server = Proc(python_module("compat.run", "legacy/v2_socketserver.py", "--port", "0"))
    try:
        host, port = server.listening()
        assert host == "127.0.0.1"
        greeting = run(python_module("compat.run", "legacy/v1_client.py", "--port", str(port)))
        assert greeting.stdout == b"thx for you connecting\n"
    finally:
        server.kill()


def test_launcher_without_python2_says_so_in_one_line(tmp_path: Path) -> None:
    # A pyenv-style shim that answers to python2 and fails, as on this machine.
    shim = tmp_path / "python2"
    shim.write_text("#!/bin/sh\necho 'pyenv: python2: command not found' >&2\nexit 127\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    result = run(python_module("compat.run", "legacy/v1_server.py", "--port", "0"),
                 env={"PATH": str(tmp_path), "LEGACY_PYTHON": str(shim),
                      "PYENV_ROOT": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        "python -m compat.run: error: no Python 2.7 found; set LEGACY_PYTHON to its "
        "path, or put python2.7 on PATH"]


def test_launcher_refuses_a_missing_script() -> None:
    result = run(python_module("compat.run", "legacy/v9_nothing.py"))
    assert result.returncode == 1
    assert result.stderr == b"python -m compat.run: error: no such script: legacy/v9_nothing.py\n"
