"""Generated conversations against every modern server of every reading conversation.

The contract cases are the conversations we thought of; here Hypothesis
makes up the rest.  A conversation is a few clients, each a list of steps —
send a chunk (1 byte to 1 MiB, of any byte values), pause — and an end: a
clean close, a half-close, or a reset (SO_LINGER 0) that may come at any
point.  The clients' steps are interleaved in a generated order.  For every
conversation:

- every byte a client sent before closing cleanly is reported exactly once
  and in order; a client that reset may have its last bytes discarded by the
  kernel (a RST drops what the server has not read yet), so what is reported
  for it is a prefix of what it sent, never more, never reordered;
- every ``connected`` has its ``disconnected``;
- the server keeps serving: a new client gets the whole conversation;
- standard output holds only event lines, and standard error only the
  documented one-line logs of a reset peer.

One server runs for all the examples of a test.  Each client waits for its
``connected`` event before its first step, so that a later reset is one the
server has seen accepted (a reset before accept is ``chat.reset_before_accept``'s
business in the contract suite).

``HYPOTHESIS_PROFILE=long`` runs ten times the examples (see
docs/reliability.md).  A failure shrinks to a minimal conversation; keep it
as an explicit ``@example`` on ``check`` below.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract.implementations import missing, servers
from wireproof.implementation import Implementation
from wireproof.originals import CONVERSATIONS
from wireproof.session import Conn, ContractFailure, Session, show

settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MIB = 1 << 20
# What one conversation may send in all: enough for a 1 MiB chunk and more,
# small enough that a few hundred conversations take a couple of minutes.
BUDGET = 3 * MIB

# The one-line logs a reading server may write when a peer resets: the first
# of a burst names the peer, the rest of the burst is one count a second.
RESET = (r"(?:\[Errno 104\] Connection reset by peer"
         r"|ConnectionResetError\(104, 'Connection reset by peer'\))")
RESET_LOGS = re.compile(
    rf"^(?:\S+:\d+: {RESET}|\d+ more connections in the last \d+\.\d s: {RESET}"
    r"|a connection was reset before it could be served)$")


def reading_servers() -> list[Implementation]:
    """The modern servers of the conversations that read until the peer closes."""
    return [impl for impl in servers()
            if not impl.legacy and not CONVERSATIONS[impl.like].closes]


@dataclass(frozen=True)
class Send:
    data: bytes

    def __repr__(self) -> str:
        return f"Send({show(self.data, 24)})"


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Client:
    steps: tuple[Send | Pause, ...]
    end: str            # "close", "half-close" or "reset"


@dataclass(frozen=True)
class Conversation:
    clients: tuple[Client, ...]
    order: tuple[int, ...]   # which client takes its next step (its end after its steps)


def payloads() -> st.SearchStrategy[bytes]:
    """A chunk of 1 byte to 1 MiB: a generated pattern of any byte values,
    repeated to a generated size (Hypothesis draws small buffers; the size
    is what reaches 1 MiB)."""
    sizes = st.one_of(st.integers(1, 64), st.integers(65, 70_000),
                      st.sampled_from([4096, 65536, 65537, MIB]))
    patterns = st.one_of(st.binary(min_size=1, max_size=64),
                         st.just(bytes(range(256))))
    return st.builds(lambda p, n: (p * (n // len(p) + 1))[:n], patterns, sizes)


steps = st.one_of(payloads().map(Send),
                  st.sampled_from([0.0, 0.001, 0.02]).map(Pause))
clients = st.builds(Client, st.lists(steps, max_size=6).map(tuple),
                    st.sampled_from(["close", "half-close", "reset"]))


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    drawn = draw(st.lists(clients, min_size=1, max_size=4))
    sent = 0
    kept = []
    for client in drawn:  # keep within the budget, dropping chunks past it
        chosen = []
        for step in client.steps:
            size = len(step.data) if isinstance(step, Send) else 0
            if sent + size <= BUDGET:
                chosen.append(step)
                sent += size
        kept.append(Client(tuple(chosen), client.end))
    turns = [i for i, client in enumerate(kept) for _ in range(len(client.steps) + 1)]
    order = draw(st.permutations(turns))
    return Conversation(tuple(kept), tuple(order))


def sent_by(client: Client) -> bytes:
    return b"".join(step.data for step in client.steps if isinstance(step, Send))


def run_conversation(session: Session, conversation: Conversation) -> None:
    """Play ``conversation`` against the running server and check every promise."""
    session.forget()
    conns: list[Conn] = []
    for _ in conversation.clients:
        conn = session.connect()
        session.expect_event("connected", conn)
        session.greeted(conn)
        conns.append(conn)
    taken = [0] * len(conns)
    for index in conversation.order:
        client, conn = conversation.clients[index], conns[index]
        if taken[index] < len(client.steps):
            step = client.steps[taken[index]]
            if isinstance(step, Send):
                conn.send(step.data)
            else:
                time.sleep(step.seconds)  # part of the conversation, not a wait
            taken[index] += 1
        elif client.end == "close":
            conn.close()
        elif client.end == "half-close":
            session.hang_up(conn)
            conn.read_until_close("the server closes after the peer does")
            conn.close()
        else:
            conn.reset()
    for client, conn in zip(conversation.clients, conns, strict=True):
        session.expect_event("disconnected", conn)
        sent = sent_by(client)
        if client.end == "reset":
            reported = b"".join(e.data or b"" for e in session.received_by(conn))
            if not sent.startswith(reported):
                raise ContractFailure(f"what {conn.label} sent before its reset, in order",
                                      f"a prefix of {show(sent, 40)}", show(reported, 40))
        else:
            session.expect_received(conn, sent)
        reported_twice = [e for e in session.events()
                          if e.kind == "disconnected" and e.address == conn.address]
        if len(reported_twice) != 1:
            raise ContractFailure(f"one 'disconnected' for {conn.label}", 1,
                                  len(reported_twice))
    session.serves_another()
    session.still_serving()
    logs = [line for line in session.proc.stderr.splitlines() if line] if session.proc else []
    stray = [line for line in logs if not RESET_LOGS.match(line)]
    if stray:
        raise ContractFailure("standard error holds only the one-line logs of a reset peer",
                              RESET_LOGS.pattern, stray[:5])


@pytest.mark.parametrize("impl", reading_servers(), ids=lambda impl: impl.name)
def test_generated_conversations_are_reported_exactly(impl: Implementation) -> None:
    reason = missing(impl.needs)
    if reason:
        pytest.skip(reason)
    session = Session(impl)

    @given(conversations())
    def check(conversation: Conversation) -> None:
        run_conversation(session, conversation)

    try:
        check()
    finally:
        session.close()
