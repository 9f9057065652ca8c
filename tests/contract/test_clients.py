"""Every client against every server of its conversation, and against none."""

from __future__ import annotations

import pytest

from tests.conftest import require
from tests.contract.conftest import Recorder, target_of
from tests.contract.implementations import (
    CLIENT_CONVERSATIONS,
    Client,
    Implementation,
    clients,
    missing,
    on_python2,
    servers,
)
from tests.contract.verdicts import judge
from wireproof import client_cases
from wireproof.client_cases import BY_ID, client_case_for, converse
from wireproof.session import Session
from wireproof.verdicts import attempt


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if target_of(metafunc.config):
        names = "client,server" if "server" in metafunc.fixturenames else "client"
        skip = pytest.mark.skip(reason="--target runs the server cases only")
        metafunc.parametrize(names, [pytest.param(*[None] * len(names.split(",")),
                                                  marks=skip)])
        return
    if "server" in metafunc.fixturenames:
        metafunc.parametrize("client,server", [
            pytest.param(client, server, id=f"{client.name}->{server.name}",
                         marks=on_python2(client, server))
            for client in clients() for server in servers()
            if server.like in CLIENT_CONVERSATIONS[client.like]])
    elif "client" in metafunc.fixturenames:
        metafunc.parametrize("client", [pytest.param(c, id=c.name, marks=on_python2(c))
                                        for c in clients()])


def test_client_speaks_to_server(client: Client, server: Implementation,
                                 results: Recorder) -> None:
    case_id = client_case_for(server.like)
    reason = missing(client.needs) or missing(server.needs)
    if reason:
        results.record(client.name, case_id, "skipped", reason)
    require(reason)
    session = Session(server)
    try:
        failure = attempt(lambda: converse(client, session))
    finally:
        session.close()
    judge(results, client.name, case_id, BY_ID[case_id], failure, "", session.transcript)


@pytest.mark.parametrize("case_id", ["client.refused", "client.silent"])
def test_client_without_a_server(client: Client, case_id: str, results: Recorder) -> None:
    reason = missing(client.needs)
    if reason:
        results.record(client.name, case_id, "skipped", reason)
    require(reason)
    transcript: list[str] = []
    run = client_cases.refused if case_id == "client.refused" else client_cases.silent
    failure = attempt(lambda: run(client, transcript.append))
    judge(results, client.name, case_id, BY_ID[case_id], failure, "", transcript)
