"""--target: the contract's wire-level cases against a server someone else started."""

from __future__ import annotations

import sys

import pytest

from tests.procs import Proc, python_module, run

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
