"""The contract: cases with stable IDs, each run against every implementation.

A case is a function of a :class:`Session`; it raises ``ContractFailure``
where the implementation breaks a promise.  ``applies`` says which
implementations the case means something for; the report marks the others
not-applicable.  Waits are on events or on the wire, each bounded by
``wireproof.procs.WAIT``; the one fixed interval, in :func:`sleeps`, is the
measurement window itself.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from wireproof.events import printed_matches
from wireproof.implementation import Implementation
from wireproof.procs import WAIT, Proc
from wireproof.session import Conn, ConnectFailure, ContractFailure, Session, show

# How long a close that the server has already reported may take to arrive.
CLOSE_GRACE = 2.0

# How many one-second windows a server has to show that it sleeps.
SETTLE_WINDOWS = 5

# How long finished workers may take to be reaped: ten of socketserver's
# half-second polls.
REAP_GRACE = 5.0


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    run: Callable[[Session], None]
    applies: Callable[[Implementation], bool]
    ends_server: bool = False      # the server is meant to be gone afterwards
    nofile: int | None = None      # the server's descriptor limit, if the case sets one


def every(impl: Implementation) -> bool:
    return True


def reads(impl: Implementation) -> bool:
    """Servers that keep the connection and read (the v4 conversations)."""
    return impl.like in ("v4_select", "v4_poll")


def greets_and_closes(impl: Implementation) -> bool:
    return not reads(impl)


def running_here(impl: Implementation) -> bool:
    """Cases that need the process itself, not only its socket."""
    return impl.argv is not None


def legacy(impl: Implementation) -> bool:
    return impl.legacy


CASES: list[Case] = []


def case(case_id: str, description: str, applies: Callable[[Implementation], bool] = every,
         ends_server: bool = False, nofile: int | None = None,
         ) -> Callable[[Callable[[Session], None]], Callable[[Session], None]]:
    def register(run: Callable[[Session], None]) -> Callable[[Session], None]:
        CASES.append(Case(case_id, description, run, applies, ends_server, nofile))
        return run
    return register


def finish_chat(s: Session, conn: Conn, sent: bytes) -> None:
    """Shut down our sending side, then check the server reported ``sent``, in
    order, and the disconnection (without events: that it closed)."""
    s.hang_up(conn)
    if s.has_events and not printed_matches(sent, s.received_by(conn), s.impl.legacy):
        got = b"".join(e.data or b"" for e in s.received_by(conn))
        raise ContractFailure("the received chunks add up to what was sent",
                              show(sent), show(got))


@case("greet.basic", "the greeting arrives byte for byte; the server closes (greeting "
      "servers) or stays open (v4); 'connected' names the client's address and port")
def greet_basic(s: Session) -> None:
    conn = s.connect()
    s.greeted(conn)
    s.expect_event("connected", conn)
    if not s.conversation.closes:
        conn.send(b"still open?")
        s.expect_received(conn, b"still open?")
        finish_chat(s, conn, b"still open?")


@case("chat.one_message", "one message gives one 'received' event with exactly its bytes",
      reads)
def chat_one_message(s: Session) -> None:
    conn = s.connect()
    s.greeted(conn)
    conn.send(b"hello, server")
    s.expect_received(conn, b"hello, server")
    finish_chat(s, conn, b"hello, server")
    chunks = [e.data for e in s.received_by(conn)]
    if s.has_events and chunks != [b"hello, server"]:
        raise ContractFailure("exactly one 'received' event", [b"hello, server"], chunks)


@case("chat.in_order", "messages sent one after another are reported in order, one event "
      "each", reads)
def chat_in_order(s: Session) -> None:
    conn = s.connect()
    s.greeted(conn)
    messages = [b"message %d" % i for i in range(1, 6)]
    for i, message in enumerate(messages):
        conn.send(message)
        s.expect_received(conn, b"".join(messages[:i + 1]))
    finish_chat(s, conn, b"".join(messages))
    chunks = [e.data for e in s.received_by(conn)]
    if s.has_events and chunks != messages:
        raise ContractFailure("one event per message, in order", messages, chunks)


@case("close.clean", "the peer closes cleanly: 'disconnected' names it, and the server "
      "serves the next client", reads)
def close_clean(s: Session) -> None:
    conn = s.connect()
    s.greeted(conn)
    conn.send(b"bye")
    s.expect_received(conn, b"bye")
    conn.close()
    s.expect_event("disconnected", conn)
    s.serves_another()


@case("close.silent", "the peer connects and closes without sending or reading anything; "
      "the server serves the next client")
def close_silent(s: Session) -> None:
    conn = s.connect()
    s.expect_event("connected", conn)
    if not s.conversation.closes:
        # Read the greeting: closing on unread data would send a reset, which
        # is chat.reset's business.
        s.greeted(conn)
    conn.close()
    if not s.conversation.closes:
        s.expect_event("disconnected", conn)
    s.serves_another()


@case("chat.reset", "the peer resets the connection (SO_LINGER 0): the server survives "
      "and serves the next client")
def chat_reset(s: Session) -> None:
    conn = s.connect()
    s.expect_event("connected", conn)
    if s.conversation.closes:
        # Reset once the greeting has arrived, so that the server is past its
        # send: a reset before it is chat.reset_before_accept's business.
        conn.wait_readable()
    else:
        s.greeted(conn)
        conn.send(b"about to reset")
        s.expect_received(conn, b"about to reset")
    conn.reset()
    if not s.conversation.closes:
        s.expect_event("disconnected", conn)
    s.serves_another()


@case("chat.reset_before_accept", "a peer connects and resets while the server is "
      "stopped (SIGSTOP), so the server accepts a dead connection: it survives and "
      "serves the next client", running_here)
def chat_reset_before_accept(s: Session) -> None:
    assert s.proc is not None
    s.proc.popen.send_signal(signal.SIGSTOP)
    try:
        conn = s.connect()
        conn.reset()
    finally:
        s.proc.popen.send_signal(signal.SIGCONT)
    s.note("server continued")
    s.serves_another()


@case("chat.half_close", "the peer sends, then shuts down its sending side: the server "
      "reports the data, then the disconnection, and closes its side")
def chat_half_close(s: Session) -> None:
    conn = s.connect()
    if s.conversation.closes:
        conn.shutdown_write()
        s.greeted(conn)
        s.expect_event("connected", conn)
        return
    conn.send(b"last words")
    conn.shutdown_write()
    s.expect_event("disconnected", conn)
    s.expect_received(conn, b"last words")
    # A server closes before it reports the disconnection, so the close is
    # already on its way; without events, the full wait applies.
    got = conn.read_until_close("the server closes its side once the peer has",
                                CLOSE_GRACE if s.has_events else WAIT)
    if got != s.conversation.greeting:
        raise ContractFailure("the greeting, then close", show(s.conversation.greeting),
                              show(got))


def send_payload(s: Session, payload: bytes) -> None:
    conn = s.connect()
    s.greeted(conn)
    conn.send(payload)
    finish_chat(s, conn, payload)


@case("payload.binary", "all 256 byte values arrive, reported losslessly and in order",
      reads)
def payload_binary(s: Session) -> None:
    send_payload(s, bytes(range(256)) + bytes(range(255, -1, -1)))


@case("payload.large", "1 MiB in one go arrives completely, losslessly and in order", reads)
def payload_large(s: Session) -> None:
    send_payload(s, random.Random(1).randbytes(1 << 20))


@case("payload.huge", "16 MiB in a single sendall arrives completely, every byte reported "
      "exactly once and in order", reads)
def payload_huge(s: Session) -> None:
    send_payload(s, random.Random(2).randbytes(16 << 20))


@case("payload.newlines", "a message with newlines and a carriage return is one "
      "'received' event with exactly its bytes", reads)
def payload_newlines(s: Session) -> None:
    message = b"line 1\nline 2\r\n"
    send_payload(s, message)
    chunks = [e.data for e in s.received_by(None)]
    if s.has_events and chunks != [message]:
        raise ContractFailure("exactly one 'received' event", [message], chunks)


@case("load.concurrent_100", "100 clients connected at once are all served (a sequential "
      "server serves them in turn)")
def load_concurrent_100(s: Session) -> None:
    conns = [s.connect() for _ in range(100)]
    for conn in conns:
        s.greeted(conn)
    if s.conversation.closes:
        expected = Counter(conn.address for conn in conns)
        s.wait_events(
            lambda events: Counter(e.address for e in events if e.kind == "connected")
            == expected, "one 'connected' event per client", "100 events")
        return
    messages = {conn: b"client %d" % i for i, conn in enumerate(conns)}
    for conn, message in messages.items():
        conn.send(message)
    check_all_received(s, messages)
    for conn in conns:
        conn.close()
    s.wait_events(lambda events: sum(e.kind == "disconnected" for e in events) == len(conns),
                  "a 'disconnected' event per client", f"{len(conns)} events")


def check_all_received(s: Session, messages: dict[Conn, bytes]) -> None:
    """Every message arrives, attributed to its client where the server names
    clients (a legacy server's data lines name nobody: compare the multiset)."""
    if s.impl.legacy:
        expected = Counter(messages.values())
        s.wait_events(lambda events: Counter(
            e.data for e in events if e.kind == "received") == expected,
            "every client's message, once", f"{len(expected)} messages")
        return
    by_address = {conn.address: message for conn, message in messages.items()}
    s.wait_events(lambda events: {
        e.address: e.data for e in events if e.kind == "received"} == by_address,
        "every client's message, from that client", f"{len(by_address)} messages")


@case("load.reset_storm", "200 connections reset (SO_LINGER 0) one after another: at once, "
      "after the greeting, or (v4) after sending: the server survives, reports each one's "
      "data at most once and in order and (v4) each one it reported connected as "
      "disconnected, and serves the next client")
def load_reset_storm(s: Session) -> None:
    storm: list[Conn] = []
    sent: dict[Conn, bytes] = {}
    for i in range(1, 201):
        conn = s.connect(f"storm{i}")
        storm.append(conn)
        if i % 3 == 1:
            # After the greeting (or, with none, the 'connected' event): the
            # server has taken this one in and is past its send.
            if s.conversation.greeting:
                conn.wait_readable()
            else:
                s.expect_event("connected", conn)
        elif i % 3 == 2 and not s.conversation.closes:
            sent[conn] = b"storm %d" % i
            conn.send(sent[conn])
        conn.reset()
    # The listen queue is first in, first out: once this client is served,
    # every connection of the storm has been accepted.
    s.serves_another()
    if not s.has_events or s.conversation.closes or s.impl.legacy:
        return  # nothing more to check: no disconnections, or no senders named
    s.wait_events(lambda events: Counter(e.address for e in events if e.kind == "connected")
                  == Counter(e.address for e in events if e.kind == "disconnected"),
                  "a 'disconnected' event for each 'connected' one",
                  "as many of each, client by client")
    for conn in storm:
        got = b"".join(e.data or b"" for e in s.received_by(conn))
        if not sent.get(conn, b"").startswith(got):
            raise ContractFailure(f"{conn.label}'s data reported at most once, in order",
                                  f"a prefix of {show(sent.get(conn, b''))}", show(got))


@case("load.fd_setsize", "1,100 connections held at once (past select()'s FD_SETSIZE of "
      "1024): all served, or the overflow refused cleanly while the rest are served", reads)
def load_fd_setsize(s: Session) -> None:
    served: dict[Conn, bytes] = {}
    refused = []
    for i in range(1100):
        conn = s.connect()
        try:
            # One at a time, each acknowledged (greeting or event), so that a
            # small listen backlog cannot turn this into a SYN-retry test.
            s.greeted(conn)
            if not s.conversation.greeting:
                s.expect_event("connected", conn)
        except ContractFailure:
            if s.impl.fd_limit is None or len(served) < s.impl.fd_limit - 50:
                raise
            refused.append(conn)
            continue
        served[conn] = b"connection %d" % i
    s.note(f"{len(served)} connections served, {len(refused)} refused")
    for conn, message in served.items():
        conn.send(message)
    check_all_received(s, served)
    for conn in [*served, *refused]:
        conn.close()
    s.serves_another()


@case("restart.same_port", "stopped with a client connected, the server can be started "
      "again on the same port at once (SO_REUSEADDR)", running_here, ends_server=True)
def restart_same_port(s: Session) -> None:
    conn = s.connect()
    s.greeted(conn)
    s.expect_event("connected", conn)
    assert s.proc is not None and s.impl.argv is not None
    s.proc.stop()
    s.proc.kill()
    if not s.conversation.closes:
        conn.read_until_close("the server's exit closes the connection")
    # The server closed first; our close completes its side into TIME_WAIT,
    # the state that holds the port for a minute.
    conn.close()
    s.note(f"server stopped; starting another on port {s.port}")
    again = Proc(s.impl.argv(s.host, s.port))
    try:
        first = again.line(0)
        if first != f"listening on {s.host}:{s.port}".encode():
            again.wait()
            raise ContractFailure("a restart on the same port listens",
                                  f"listening on {s.host}:{s.port}",
                                  f"{first!r}; stderr {again.stderr.strip()[-300:]!r}")
        s.note(f"second server: {first!r}")
    finally:
        again.kill()


@case("workers.reaped", "once its clients are gone, the server is back to the threads it "
      "started with and to its own worker processes, with no zombie children", running_here)
def workers_reaped(s: Session) -> None:
    assert s.proc is not None
    proc = s.proc
    threads = proc.threads()
    for _ in range(5):
        conn = s.connect()
        s.greeted(conn)
        if not s.conversation.closes:
            s.hang_up(conn)
    s.note(f"threads at start: {threads}")

    keeps = s.impl.workers

    def settled() -> bool:
        # No child but the --workers it keeps: one still running for a client
        # has not finished, and one that has finished must have been reaped.
        return (proc.threads() <= threads and not proc.zombies()
                and len(proc.children()) == keeps)

    if not proc.wait_until(settled, REAP_GRACE):
        raise ContractFailure("workers are reaped",
                              f"{threads} threads, {keeps} children, no zombies",
                              f"{proc.threads()} threads, {len(proc.children())} children, "
                              f"zombie children {proc.zombies()} after {REAP_GRACE:g} s")


def reads_here(impl: Implementation) -> bool:
    return reads(impl) and running_here(impl)


@case("load.out_of_descriptors", "with 64 descriptors and 150 clients connecting, the "
      "server neither dies nor spins, refuses or pauses what it cannot take (logged a few "
      "times at most), keeps serving the clients it has, and accepts again once they go",
      reads_here, nofile=64)
def load_out_of_descriptors(s: Session) -> None:
    assert s.proc is not None
    first = s.connect()
    s.greeted(first)
    flood = [s.connect() for _ in range(150)]
    # Ports refuse beyond --max-connections (by default the limit less 32)
    # before accept() can fail; either way they must hold what they took.
    s.wait_events(lambda events: sum(e.kind == "connected" for e in events) >= 20,
                  "the server accepts what its descriptors allow", "20 'connected' events")
    # Working through the flood is not spinning: judged once it is done.
    s.wait_accept_queue_drained()
    sleeps(s, 0.3, "a server out of descriptors backs off")
    first.send(b"still served?")
    s.expect_received(first, b"still served?")
    for conn in flood:
        conn.close()
    # Descriptors free up only as the server notices those closes: wait for
    # it, or the next client may race a server that is still starved.
    s.wait_events(lambda events: sum(e.kind == "disconnected" for e in events)
                  >= sum(e.kind == "connected" for e in events) - 1,
                  "the flood's disconnections", "a 'disconnected' per accepted flood client")
    served_again(s)
    shortage = [line for line in s.proc.stderr.splitlines() if "Too many open files" in line]
    # (Refusals under --max-connections are one line each, by design.)
    if len(shortage) > 5:
        raise ContractFailure("the shortage is logged once per burst", "at most 5 lines",
                              f"{len(shortage)} lines")


def served_again(s: Session) -> None:
    """A new client is served once the server has room again.

    Closed flood connections may still wait in the listen queue; while the
    server works through them it may be at its limit, and refuse (close) a
    newcomer.  So a refused newcomer tries again, until WAIT runs out.
    """
    deadline = time.monotonic() + WAIT
    while True:
        conn = s.connect()
        greeting = s.conversation.greeting
        got = conn.recv_exactly(len(greeting), "the greeting", refused_ok=True)
        if got == greeting:
            conn.send(b"anyone there?")

            def answered(conn: Conn = conn) -> bool:
                return bool(s.received_by(conn))

            if conn.served_or_refused(answered):
                s.expect_received(conn, b"anyone there?")
                return
        conn.close()
        if time.monotonic() > deadline:
            raise ContractFailure("the server accepts again once the flood is gone",
                                  "a new client served", f"still refused after {WAIT:g} s")


def sleeps(s: Session, limit: float, what: str) -> None:
    """Wait for a second in which the server runs, or waits to run, for under
    ``limit`` seconds; a ContractFailure if none of SETTLE_WINDOWS seconds is.

    Not CPU time: on a loaded machine a spinning server gets little of it, but
    it is runnable all the time, where a sleeping one is not.  Several windows,
    since a server may still be working through what it was sent; one that
    spins is busy in every one.
    """
    assert s.proc is not None
    used = []
    for _ in range(SETTLE_WINDOWS):
        before = s.proc.busy_seconds()
        # The interval is the measurement itself, not a wait for anything.
        s.proc.wait(1.0)
        after = s.proc.busy_seconds()
        # The busiest process of the tree: a spinning worker or child must not
        # hide behind a parent that sleeps (nor several sleepers add up).
        busiest = max(after, key=lambda pid: after[pid] - before.get(pid, 0.0))
        used.append(after[busiest] - before.get(busiest, 0.0))
        s.note(f"running or runnable for {used[-1]:.2f} s of 1 s"
               + ("" if busiest == s.proc.pid else f" (process {busiest}, a child)"))
        if used[-1] < limit:
            return
    raise ContractFailure(what, f"a second with under {limit:g} s running or runnable",
                          f"{', '.join(f'{u:.2f}' for u in used)} s in {SETTLE_WINDOWS} "
                          f"seconds: it spins")


@case("idle.no_spin", "a server with a client connected and nothing to do uses no CPU "
      "(measured over one second)", running_here)
def idle_no_spin(s: Session) -> None:
    conn = s.connect()
    s.expect_event("connected", conn)
    if not s.conversation.closes:
        s.greeted(conn)
    sleeps(s, 0.1, "an idle server sleeps")


# How long a server has to end once sent its stop signal.
STOP_WAIT = WAIT


def outlived(s: Session) -> str:
    """What a server that outlived its stop signal was doing (``S in do_select,
    SIGINT caught``), and whether a connection then ended it.

    Python runs a signal's handler between bytecodes.  A signal that comes
    after the last check before a loop blocks in ``select()`` or ``accept()``
    is caught, no longer pending, and its handler waits for whatever wakes
    the loop next; Python 3.11 and later check at fewer points than 2.7, so
    the window is wider.  The connection shows it in the transcript (and a
    ``KeyboardInterrupt`` it lets loose on standard error).
    """
    assert s.proc is not None
    seen = f"still running after {STOP_WAIT:g} s ({s.proc.outlived})"
    try:
        s.connect("wake-up")
    except ConnectFailure:
        return seen
    status = s.proc.wait()
    s.note(f"wake-up connected: exit status {status}")
    return seen if status is None else f"{seen}; a connection woke it: exit status {status}"


def stops_cleanly(s: Session, signum: int) -> None:
    conn = s.connect()
    s.expect_event("connected", conn)
    if not s.conversation.closes:
        s.greeted(conn)
    assert s.proc is not None
    status = s.proc.stop(signum, STOP_WAIT)
    s.note(f"sent {signal.Signals(signum).name}: exit status {status}")
    if status != 0:
        raise ContractFailure(f"{signal.Signals(signum).name} ends the server with status 0",
                              0, status if status is not None else outlived(s))
    if "Traceback" in s.proc.stderr:
        raise ContractFailure("no traceback on shutdown", "none", s.proc.stderr[-1000:])
    if not s.conversation.closes:
        got = conn.read_until_close("the server closes every connection on the way out")
        if got:
            raise ContractFailure("nothing more on the way out", b"", show(got))


def modern_reads_here(impl: Implementation) -> bool:
    """Not the originals: they die on SIGTERM with one client (shutdown.sigterm),
    and 500 clients through their listen backlog of 5 and v4_select's printing
    of its whole socket list at every wake-up would only add minutes."""
    return reads_here(impl) and not impl.legacy


@case("shutdown.under_load", "SIGTERM with 500 clients connected, each of whose messages "
      "was reported: exit status 0, no traceback, every client sees its connection closed",
      modern_reads_here, ends_server=True)
def shutdown_under_load(s: Session) -> None:
    conns = [s.connect() for _ in range(500)]
    messages = {conn: b"client %d" % i for i, conn in enumerate(conns)}
    for conn in conns:
        s.greeted(conn)
        conn.send(messages[conn])
    check_all_received(s, messages)
    assert s.proc is not None
    status = s.proc.stop(signal.SIGTERM, STOP_WAIT)
    s.note(f"sent SIGTERM: exit status {status}")
    if status != 0:
        raise ContractFailure("SIGTERM under load ends the server with status 0", 0,
                              status if status is not None else outlived(s))
    if "Traceback" in s.proc.stderr:
        raise ContractFailure("no traceback on shutdown", "none", s.proc.stderr[-1000:])
    for conn in conns:
        if conn.read_until_close("every connection is closed on the way out"):
            raise ContractFailure("nothing more on the way out", b"", "more bytes")


@case("shutdown.sigterm", "SIGTERM with a client connected: exit status 0, no traceback, "
      "every connection closed", running_here, ends_server=True)
def shutdown_sigterm(s: Session) -> None:
    stops_cleanly(s, signal.SIGTERM)


@case("shutdown.sigint", "SIGINT (Ctrl-C) with a client connected: exit status 0, no "
      "traceback, every connection closed", running_here, ends_server=True)
def shutdown_sigint(s: Session) -> None:
    stops_cleanly(s, signal.SIGINT)


BY_ID = {c.id: c for c in CASES}
