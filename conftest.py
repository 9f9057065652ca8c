"""Command-line options of the test suite.

They live here, at the top, because pytest reads options only from the
conftest files it meets first, and a plain ``python -m pytest`` meets this one.
For the same reason the contract report is collected here: with pytest-xdist
the controlling process, which writes it, loads no other conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract import implementations
from tests.contract.conftest import VERDICT, server_implementations, target_of
from wireproof.cases import CASES
from wireproof.client_cases import CLIENT_CASES
from wireproof.report import Results


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "the contract suite")
    group.addoption("--contract-report", metavar="DIR",
                    help="write DIR/report.json and DIR/report.md")
    group.addoption("--target", metavar="HOST:PORT",
                    help="run the wire-level cases against a server already running there")
    group.addoption("--like", default="v4_select",
                    help="the legacy conversation the --target server speaks "
                         "(default v4_select)")


class ReportPlugin:
    """Collects the verdicts that tests attach to their reports, and writes them.

    Reports reach ``pytest_runtest_logreport`` in the process that writes the
    report, with or without pytest-xdist, so verdicts travel with them.
    """

    def __init__(self, results: Results, directory: str | None) -> None:
        self.results, self.directory = results, directory

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            for key, verdict in report.user_properties:
                if key == VERDICT and isinstance(verdict, dict):
                    self.results.record(**verdict)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.directory and not hasattr(session.config, "workerinput"):
            self.results.write(Path(self.directory))


def pytest_configure(config: pytest.Config) -> None:
    names = [impl.name for impl in server_implementations(config)]
    cases = [{"id": c.id, "description": c.description} for c in CASES]
    if not target_of(config):
        names += [client.name for client in implementations.clients()]
        cases += [{"id": c.id, "description": c.description} for c in CLIENT_CASES]
    config.pluginmanager.register(
        ReportPlugin(Results(names, cases), config.getoption("--contract-report")),
        "contract-report")
