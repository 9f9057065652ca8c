"""``check``: the contract's wire-level cases against a server already running.

The server is someone else's process, so only the cases that need nothing but
its socket run (those that signal, restart or measure the process are left
out, as not applicable), and no event lines are read: what is checked is what
crosses the wire.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from wireproof.cases import CASES
from wireproof.events import Address
from wireproof.implementation import target
from wireproof.report import Results
from wireproof.session import ConnectFailure, Session
from wireproof.verdicts import attempt, decide


class Unreachable(Exception):
    """Nothing accepts connections at the address given: no case can run."""


def check(address: Address, like: str, report: Path | None = None,
          only: Callable[[str], bool] = lambda case_id: True,
          say: Callable[[str], None] = print) -> int:
    """Run every case that applies to a target speaking ``like`` at
    ``address``; 0 if none failed, 1 otherwise.  ``say`` gets one line per
    case and the summary last."""
    impl = target(like)
    cases = [case for case in CASES if case.applies(impl) and only(case.id)]
    results = Results([impl.name], [{"id": c.id, "description": c.description} for c in CASES])
    failed = 0
    for number, case in enumerate(cases):
        session = Session(impl, address)
        try:
            failure = attempt(functools.partial(case.run, session))
        finally:
            session.close()
        if isinstance(failure, ConnectFailure) and number == 0 and not session.conns:
            # Found here rather than by a probe connection first: some
            # originals die of a client that closes without reading.
            raise Unreachable(f"cannot connect to {address[0]}:{address[1]}: "
                              f"{failure.error.strerror or failure.error}")
        verdict = decide(impl.name, case.id, case.description, failure, "")
        results.record(impl.name, case.id, verdict.verdict, verdict.reason, session.transcript)
        say(f"{verdict.verdict:4} {case.id}")
        if verdict.message is not None:
            failed += 1
            say("     " + verdict.message.replace("\n", "\n     "))
    if report is not None:
        results.write(report)
    say(f"{len(cases) - failed} passed, {failed} failed, of {len(cases)} cases against "
        f"{like} at {address[0]}:{address[1]}")
    return 1 if failed else 0
