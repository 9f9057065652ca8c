"""--target and ``wireproof check``: the contract's wire-level cases against a
server someone else started."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wireproof.procs import Proc, python_module, run

SUITE = [sys.executable, "-m", "pytest", "tests/contract", "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist"]


def run_suite_against(server_argv: list[str], like: str, *only: str) -> tuple[int, str]:
    server = Proc(server_argv)
    try:
        host, port = server.listening()
        result = run([*SUITE, "--target", f"{host}:{port}", "--like", like, *only],
                     timeout=240)
    finally:
        server.kill()
    return result.returncode, result.stdout.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("module, like", [("select_server", "v4_select"),
                                          ("poll_server", "v4_poll"),
                                          ("blocking_server", "v1_server")])
def test_target_mode_passes_a_conforming_server(module: str, like: str) -> None:
    status, output = run_suite_against(python_module(f"modern.{module}", "--port", "0", "-q"),
                                       like)
    assert status == 0, output[-3000:]
    assert " passed" in output and "failed" not in output


def test_target_mode_catches_a_server_of_another_conversation() -> None:
    # poll_server never greets: measured against the v4_select contract, the
    # greeting case must fail.  (Only that case: each waits out the timeout.)
    status, output = run_suite_against(python_module("modern.poll_server", "--port", "0"),
                                       "v4_select", "-k", "greet.basic")
    assert status == 1
    assert "test_server_meets_contract[v4_select/target::greet.basic]" in output
    assert "the greeting" in output


def test_target_mode_rejects_a_malformed_address() -> None:
    result = run([*SUITE, "--target", "localhost"])
    assert result.returncode == 4
    assert b"--target wants HOST:PORT, not 'localhost'" in result.stderr


def test_wireproof_check_passes_a_conforming_server_and_writes_the_report(
        tmp_path: Path) -> None:
    server = Proc(python_module("modern.poll_server", "--port", "0", "-q"))
    try:
        host, port = server.listening()
        result = run(python_module("wireproof", "check", "--target", f"{host}:{port}",
                                   "--like", "v4_poll", "--report", str(tmp_path)),
                     timeout=240)
    finally:
        server.kill()
    output = result.stdout.decode("utf-8", "backslashreplace")
    assert result.returncode == 0, output[-3000:]
    assert output.splitlines()[-1].startswith("14 passed, 0 failed, of 14 cases")
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = report["results"]["v4_poll/target"]
    assert verdicts["greet.basic"]["verdict"] == "pass"
    assert verdicts["restart.same_port"]["verdict"] == "not-applicable"
    assert (tmp_path / "report.md").read_text().rstrip().endswith(
        "14 pass, 0 expected-fail, 0 fail, 0 skipped, 8 not-applicable")


def test_wireproof_check_fails_a_server_of_another_conversation() -> None:
    server = Proc(python_module("modern.poll_server", "--port", "0"))
    try:
        host, port = server.listening()
        result = run(python_module("wireproof", "check", "--target", f"{host}:{port}",
                                   "--like", "v4_select", "-k", "greet.basic"), timeout=120)
    finally:
        server.kill()
    output = result.stdout.decode("utf-8", "backslashreplace")
    assert result.returncode == 1, output
    assert "fail greet.basic" in output and "the greeting" in output
    assert output.splitlines()[-1].startswith("0 passed, 1 failed, of 1 cases")


@pytest.mark.parametrize("argv, message", [
    (["--target", "localhost", "--like", "v4_select"], b"wants HOST:PORT, not 'localhost'"),
    (["--target", "127.0.0.1:1", "--like", "v4_select"],
     b"wireproof: cannot connect to 127.0.0.1:1: Connection refused"),
])
def test_wireproof_check_gives_one_line_for_what_it_cannot_run(argv: list[str],
                                                                message: bytes) -> None:
    result = run(python_module("wireproof", "check", *argv))
    assert result.returncode == 2
    assert message in result.stderr and b"Traceback" not in result.stderr
    assert not result.stdout
