"""Known deviations: where a legacy original breaks the contract, and how.

Each entry is checked strictly.  The original must still fail that case, and
fail it in the way described: ``signature`` must appear in what the failure
observed or in the server's standard error.  A deviation that stops
reproducing, or that fails differently, fails the suite.  No modern port may
appear here.  ``legacy*`` covers the original under Python 2.7 and the same
file run on Python 3 through the compat launcher, which must reproduce the
original's behaviour, defects included.

The one exception is a deviation marked ``intermittent``: one that shows in
most runs but not all (Python 2 threads interleaving the pieces of one
``print``; a TIME_WAIT that the machine's TCP stack does not always keep).
When it shows, it must show as described; when it does not, the run is
recorded as a pass, with the ledger's reason beside it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    implementations: str   # a glob over implementation names
    case: str              # a case ID
    reason: str
    signature: str         # a regular expression
    intermittent: bool = False

    def matches(self, text: str) -> bool:
        return re.search(self.signature, text) is not None


LEDGER: list[Deviation] = [
    Deviation("v4_poll/legacy*", "idle.no_spin",
              "registers sockets with poll's default mask, POLLOUT included; a connected "
              "socket is always writable, so poll() never sleeps",
              r"it spins"),
    Deviation("v4_poll/legacy*", "chat.reset",
              "no try around recv(): ECONNRESET kills the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v4_select/legacy*", "chat.reset",
              "its bare except catches the reset, then getpeername() on the dead socket "
              "raises ENOTCONN and kills the server",
              r"\[Errno 107\] Transport endpoint is not connected"),
    Deviation("v4_select/legacy*", "load.fd_setsize",
              "select() cannot watch descriptor 1024 or above: the server dies",
              r"ValueError: filedescriptor out of range in select\(\)"),
    Deviation("v4_*/legacy*", "chat.half_close",
              "the last accepted socket stays referenced by the loop's variable c, so "
              "after the peer closes the server's side stays open (CLOSE_WAIT) until the "
              "next accept",
              r"the server closes its side once the peer has"),
    Deviation("v3_*/legacy*", "load.concurrent_100",
              "Python 2's print writes its pieces one by one, so concurrent threads or "
              "children interleave them into garbled event lines",
              r"one 'connected' event per client", intermittent=True),
    Deviation("v*_client/legacy*", "client.refused",
              "no error handling: a refused connection is a traceback",
              r"\[Errno 111\] Connection refused"),
    Deviation("v*_client/legacy*", "client.silent",
              "no timeout: waits for ever for a server that never sends",
              r"still running after"),
    Deviation("v4_client/legacy*", "client.no_greeting",
              "no timeout: waits for ever for a greeting that v4_poll never sends",
              r"still running after"),
    Deviation("v4_*/legacy*", "payload.newlines",
              "prints received data raw: a newline in the data splits one chunk into "
              "lines that cannot be told from separate messages",
              r"exactly one 'received' event"),
    Deviation("v1_server/legacy*", "chat.reset_before_accept",
              "no try around send(): writing the greeting to a reset connection kills "
              "the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v4_select/legacy*", "chat.reset_before_accept",
              "no try around send() on accept: writing the greeting to a reset "
              "connection kills the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v4_poll/legacy*", "chat.reset_before_accept",
              "no try around recv(): ECONNRESET kills the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v1_server/legacy*", "load.reset_storm",
              "no try around send(): the first connection reset before its greeting "
              "kills the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v4_select/legacy*", "load.reset_storm",
              "the first reset kills the server: in send() if the greeting goes to a "
              "connection already reset (ECONNRESET), in getpeername() after its bare "
              "except caught the reset (ENOTCONN), whichever the timing brings first",
              r"\[Errno (104\] Connection reset by peer|107\] Transport endpoint is not "
              r"connected)"),
    Deviation("v4_poll/legacy*", "load.reset_storm",
              "no try around recv(): the first reset kills the server",
              r"\[Errno 104\] Connection reset by peer"),
    Deviation("v4_*/legacy*", "load.out_of_descriptors",
              "no error handling around accept(): running out of descriptors (EMFILE) "
              "kills the server",
              r"\[Errno 24\] Too many open files"),
    Deviation("*/legacy*", "restart.same_port",
              "no SO_REUSEADDR: the port stays taken while the old connection sits in "
              "TIME_WAIT (a minute on Linux; the sandboxed TCP stack of our CI machines "
              "does not always hold it, hence intermittent)",
              r"\[Errno 98\] Address already in use", intermittent=True),
    Deviation("v3_forking/legacy", "workers.reaped",
              "Python 2's ForkingMixIn reaps finished children only when the next "
              "request arrives: they stay zombies in between",
              r"zombie children \[\d"),
    Deviation("*/legacy*", "shutdown.sigterm",
              "no SIGTERM handler: the process is killed by the signal, without closing "
              "anything itself",
              r"Observed: -15\b"),
    Deviation("*/legacy*", "shutdown.sigint",
              "no SIGINT handling: KeyboardInterrupt escapes with a traceback",
              r"KeyboardInterrupt"),
]


def deviation(implementation: str, case: str) -> Deviation | None:
    """The ledger's entry for this implementation and case, if any."""
    for entry in LEDGER:
        if entry.case == case and fnmatch.fnmatchcase(implementation, entry.implementations):
            return entry
    return None
