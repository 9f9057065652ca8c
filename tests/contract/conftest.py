"""The contract matrix: which implementations run which cases, and the report."""

from __future__ import annotations

import pytest

from tests.contract import implementations
from wireproof.implementation import Implementation, target
from wireproof.originals import CONVERSATIONS

VERDICT = "contract-verdict"


def target_of(config: pytest.Config) -> tuple[str, int] | None:
    """The ``--target HOST:PORT`` address, if one was given."""
    text = config.getoption("--target")
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise pytest.UsageError(f"--target wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def server_implementations(config: pytest.Config) -> list[Implementation]:
    if target_of(config):
        like = config.getoption("--like")
        if like not in CONVERSATIONS:
            raise pytest.UsageError(f"--like must be one of {', '.join(CONVERSATIONS)}")
        return [target(like)]
    return implementations.servers()


class Recorder:
    """What a test calls to leave its verdict for the report."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item

    def record(self, implementation: str, case: str, verdict: str,
               reason: str | None = None, transcript: list[str] | None = None) -> None:
        self.item.user_properties.append((VERDICT, {
            "implementation": implementation, "case": case, "verdict": verdict,
            "reason": reason, "transcript": abridged(transcript or [])}))


def abridged(transcript: list[str], keep: int = 60) -> list[str]:
    """The first and last ``keep`` lines: a 1,100-connection case writes
    thousands, and the test's own failure message has them all."""
    if len(transcript) <= 2 * keep:
        return transcript
    return [*transcript[:keep], f"... {len(transcript) - 2 * keep} lines left out ...",
            *transcript[-keep:]]


@pytest.fixture
def results(request: pytest.FixtureRequest) -> Recorder:
    return Recorder(request.node)
