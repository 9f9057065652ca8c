"""From a case's outcome to its verdict: pass, fail, or a known deviation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.contract.conftest import Recorder
from tests.contract.ledger import deviation
from tests.contract.session import ContractFailure


def attempt(run: Callable[[], None]) -> ContractFailure | None:
    """Run a case; the broken promise, or None if it kept them all."""
    try:
        run()
    except ContractFailure as failure:
        return failure
    return None


def judge(results: Recorder, name: str, case_id: str, description: str,
          failure: ContractFailure | None, evidence: str, transcript: list[str]) -> None:
    """Record the verdict and end the test with it.

    ``evidence`` is what the implementation said besides the failure (its
    standard error), where a ledger entry's signature may be found.
    """
    known = deviation(name, case_id)
    detail = "\n".join(["Transcript:", *("  " + line for line in transcript)])
    if known is None:
        if failure is not None:
            results.record(name, case_id, "fail", str(failure), transcript)
            pytest.fail(f"{case_id}: {description}\n{failure}\n{detail}", pytrace=False)
        results.record(name, case_id, "pass", None, transcript)
        return
    if failure is None and known.intermittent:
        results.record(name, case_id, "pass",
                       f"intermittent, not shown this run: {known.reason}", transcript)
        return
    if failure is None:
        results.record(name, case_id, "fail", "known deviation no longer reproduces",
                       transcript)
        pytest.fail(f"{name} passes {case_id}, but the ledger says it fails: {known.reason}. "
                    f"Remove the entry if this is right.\n{detail}", pytrace=False)
    if not known.matches(f"{failure}\n{evidence}"):
        results.record(name, case_id, "fail", f"failed differently: {failure}", transcript)
        pytest.fail(f"{name} fails {case_id}, but not as the ledger says "
                    f"(/{known.signature}/ not found)\n{failure}\n{detail}", pytrace=False)
    results.record(name, case_id, "expected-fail", known.reason, transcript)
    pytest.xfail(known.reason)
