"""From a case's outcome to its verdict: pass, fail, or a known deviation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wireproof.ledger import deviation
from wireproof.session import ContractFailure


def attempt(run: Callable[[], None]) -> ContractFailure | None:
    """Run a case; the broken promise, or None if it kept them all."""
    try:
        run()
    except ContractFailure as failure:
        return failure
    return None


@dataclass(frozen=True)
class Verdict:
    verdict: str           # pass, fail or expected-fail
    reason: str | None     # for the report
    message: str | None    # why it failed, for the person reading; None unless it did


def decide(name: str, case_id: str, description: str, failure: ContractFailure | None,
           evidence: str) -> Verdict:
    """The verdict on ``name`` x ``case_id``, given how the case ended.

    ``evidence`` is what the implementation said besides the failure (its
    standard error), where a ledger entry's signature may be found.
    """
    known = deviation(name, case_id)
    if known is None:
        if failure is not None:
            return Verdict("fail", str(failure), f"{case_id}: {description}\n{failure}")
        return Verdict("pass", None, None)
    if failure is None and known.intermittent:
        return Verdict("pass", f"intermittent, not shown this run: {known.reason}", None)
    if failure is None:
        return Verdict("fail", "known deviation no longer reproduces",
                       f"{name} passes {case_id}, but the ledger says it fails: "
                       f"{known.reason}. Remove the entry if this is right.")
    if not known.matches(f"{failure}\n{evidence}"):
        return Verdict("fail", f"failed differently: {failure}",
                       f"{name} fails {case_id}, but not as the ledger says "
                       f"(/{known.signature}/ not found)\n{failure}")
    return Verdict("expected-fail", known.reason, None)
