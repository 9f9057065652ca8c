"""Every server case against every server implementation, legacy ones included."""

from __future__ import annotations

import pytest

from tests.conftest import require
from tests.contract.conftest import Recorder, server_implementations, target_of
from tests.contract.implementations import Implementation, missing, on_python2
from tests.contract.verdicts import judge
from wireproof.cases import CASES, Case
from wireproof.session import Session
from wireproof.verdicts import attempt


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "impl" in metafunc.fixturenames and "case" in metafunc.fixturenames:
        metafunc.parametrize("impl,case", [
            pytest.param(impl, case, id=f"{impl.name}::{case.id}", marks=on_python2(impl))
            for impl in server_implementations(metafunc.config)
            for case in CASES if case.applies(impl)])


def test_server_meets_contract(impl: Implementation, case: Case, results: Recorder,
                               request: pytest.FixtureRequest) -> None:
    reason = missing(impl.needs)
    if reason:
        results.record(impl.name, case.id, "skipped", reason)
    require(reason)
    session = Session(impl, target_of(request.config), case.nofile)

    def run() -> None:
        case.run(session)
        if not case.ends_server:
            session.still_serving()

    try:
        failure = attempt(run)
    finally:
        stderr = session.close()
    transcript = session.transcript + [f"stderr: {line}" for line in stderr.splitlines()[-20:]]
    judge(results, impl.name, case.id, case.description, failure, stderr, transcript)
