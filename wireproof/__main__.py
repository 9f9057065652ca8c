"""wireproof: prove a Python 3 port answers every client as its original did.

  check   the contract's wire-level cases against a server already running,
          speaking one of the legacy conversations (--like)

Every wait is bounded; network traffic is whatever the addresses given say
(the tests use loopback only).  Exit status: 0 when nothing failed, 1 when a
case failed, 2 when it cannot run (a usage error, an address
that refuses connections).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from wireproof.check import Unreachable, check
from wireproof.events import Address
from wireproof.originals import CONVERSATIONS


def address(text: str) -> Address:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m wireproof", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    one = commands.add_parser(
        "check", help="the contract's wire-level cases against a running server",
        description="Run the contract's wire-level cases against a server already "
                    "running at --target, speaking the conversation of one legacy script "
                    "(--like).  Cases that need the process itself (signals, restarts, "
                    "CPU) do not apply to a server we did not start.")
    one.add_argument("--target", metavar="HOST:PORT", type=address, required=True,
                     help="where the server listens")
    one.add_argument("--like", required=True, choices=sorted(CONVERSATIONS),
                     help="the legacy conversation it speaks")
    one.add_argument("--report", metavar="DIR", type=Path,
                     help="write DIR/report.json and DIR/report.md")
    one.add_argument("-k", dest="only", metavar="CASE", action="append",
                     help="run only this case (repeatable)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    only = set(args.only or ())
    try:
        return check(args.target, args.like, args.report,
                     lambda case_id: not only or case_id in only)
    except Unreachable as exc:
        print(f"wireproof: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
