"""The engine's verdict, as a test's outcome and a line in the report."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Recorder
from wireproof.session import ContractFailure
from wireproof.verdicts import decide


def judge(results: Recorder, name: str, case_id: str, description: str,
          failure: ContractFailure | None, evidence: str, transcript: list[str]) -> None:
    """Record the verdict and end the test with it."""
    verdict = decide(name, case_id, description, failure, evidence)
    results.record(name, case_id, verdict.verdict, verdict.reason, transcript)
    if verdict.message is not None:
        detail = "\n".join(["Transcript:", *("  " + line for line in transcript)])
        pytest.fail(f"{verdict.message}\n{detail}", pytrace=False)
    if verdict.verdict == "expected-fail":
        pytest.xfail(verdict.reason or "")
