"""Client cases: every client, against every server of its conversation.

The printed output must be the same for every client implementation, legacy
and modern, and an unreachable or silent server must give one line on
standard error and exit status 1 within the client's timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wireproof.implementation import Client
from wireproof.originals import CONVERSATIONS
from wireproof.procs import WAIT, Proc
from wireproof.session import ContractFailure, Session, show

# The timeout handed to a modern client, and how much longer a client facing a
# silent server may take before it counts as ignoring it.  A client with an
# answer to give has WAIT to give it: how fast it starts is no promise.
CLIENT_TIMEOUT = 1.0
HANG_MARGIN = 4.0
GIVES_UP = CLIENT_TIMEOUT + HANG_MARGIN  # the bound for a client with no answer coming

HOSTNAME = socket.gethostname().encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class ClientCase:
    id: str
    description: str


CLIENT_CASES = [
    ClientCase("client.greeting", "against each server that greets in its conversation, the "
               "client prints the same as every other client and exits 0"),
    ClientCase("client.no_greeting", "against a v4_poll server, which never greets: the "
               "client prints its host name, then gives one error line and exit status 1 "
               "within its timeout"),
    ClientCase("client.refused", "nothing listens: one error line, exit status 1, nothing "
               "on standard output"),
    ClientCase("client.silent", "the server accepts and never sends: one error line and exit "
               "status 1 within the client's timeout"),
]
BY_ID = {c.id: c.description for c in CLIENT_CASES}


@dataclass
class Outcome:
    status: int | None      # None: still running when the wait ran out
    stdout: bytes
    stderr: str
    bound: float            # how long it was given


def run_client(client: Client, host: str, port: int, note: Callable[[str], None],
               bound: float = WAIT) -> Outcome:
    """Run ``client`` until it exits or ``bound`` seconds pass (status None)."""
    proc = Proc(client.argv(host, port, CLIENT_TIMEOUT))
    status = proc.wait(bound)
    if status is None:
        proc.kill()
    outcome = Outcome(status, b"".join(line + b"\n" for line in proc.lines), proc.stderr,
                      bound)
    note(f"client {client.name}: status {status}, stdout {show(outcome.stdout)}, "
         f"stderr {outcome.stderr!r}")
    return outcome


def expect(outcome: Outcome, stdout: bytes, status: int) -> None:
    """The client printed ``stdout``, exited with ``status``, and, when it
    failed, said why in exactly one line."""
    if outcome.status is None:
        raise ContractFailure("the client exits by itself", f"exit status {status}",
                              f"still running after {outcome.bound:g} s")
    if (outcome.stdout, outcome.status) != (stdout, status):
        raise ContractFailure("the client's output and exit status",
                              f"{show(stdout)}, status {status}",
                              f"{show(outcome.stdout)}, status {outcome.status}")
    lines = outcome.stderr.splitlines()
    if status and len(lines) != 1:
        raise ContractFailure("one line on standard error", "1 line", lines[-5:])
    if not status and lines:
        raise ContractFailure("nothing on standard error", "nothing", lines[-5:])


def client_case_for(server_like: str) -> str:
    return "client.greeting" if CONVERSATIONS[server_like].greeting else "client.no_greeting"


def converse(client: Client, session: Session) -> None:
    """Run ``client`` against the session's server and check both sides."""
    greeting = session.conversation.greeting
    # Without a greeting to wait for, the client's own timeout ends it, as
    # against a silent listener; a client that ignores it is told so as soon.
    bound = WAIT if greeting else GIVES_UP
    outcome = run_client(client, session.host, session.port, session.note, bound)
    if client.like == "v1_client":
        expect(outcome, greeting + b"\n", 0)
        session.expect_event("connected")
        return
    if greeting:
        expect(outcome, HOSTNAME + b"\n" + greeting + b"\n", 0)
    else:
        expect(outcome, HOSTNAME + b"\n", 1)
    session.expect_event("connected")
    hello = b"hi, i am " + HOSTNAME
    session.wait_events(lambda events: any(e.kind == "received" and e.data == hello
                                           for e in events),
                        "the client's hello", show(hello))
    session.expect_event("disconnected")


@contextmanager
def nobody_listening() -> Iterator[int]:
    """A port that refuses connections: bound, so nobody else takes it, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose server accepts (the kernel completes the handshake) and never sends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def refused(client: Client, note: Callable[[str], None]) -> None:
    with nobody_listening() as port:
        expect(run_client(client, "127.0.0.1", port, note), b"", 1)


def silent(client: Client, note: Callable[[str], None]) -> None:
    with silent_listener() as port:
        outcome = run_client(client, "127.0.0.1", port, note, GIVES_UP)
    expect(outcome, HOSTNAME + b"\n" if client.like == "v4_client" else b"", 1)
