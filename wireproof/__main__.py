"""wireproof: prove a Python 3 port answers every client as its original did.

  check   the contract's wire-level cases against a server already running,
          speaking one of the legacy conversations (--like)
  diff    the same client sessions against a primary (the original), a
          secondary (the original again) and a candidate (the port): every
          difference, except where primary and secondary differ too (noise)
  record  a transparent proxy in front of the primary that writes each
          connection through it as a session, for diff --sessions
          (--client runs your client through it and stops when it exits)

Every wait is bounded; network traffic is whatever the addresses given say
(the tests use loopback only).  Exit status: 0 when nothing failed or
differed, 1 when a case failed or the candidate differed, 2 when it cannot
run (a usage error, a server that does not start, an address that refuses
connections, a malformed sessions file).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from wireproof import record, sessions
from wireproof.check import Unreachable, check
from wireproof.codec import FormatError
from wireproof.diff import diff, summary, write_report
from wireproof.events import Address
from wireproof.originals import CONVERSATIONS
from wireproof.servers import ServerError, Spec


def address(text: str) -> Address:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


DIFF_HELP = """\
Run the same client sessions against a primary (the original), a secondary
(the original again) and a candidate (its port), and report every
observation where the candidate differs from the primary; where the primary
and the secondary differ too, that is noise, reported as such.  Each server
is HOST:PORT of one already running, or a command that the tool starts with
{port} replaced by a free port, for example

  python -m compat.run legacy/v4_poll.py --port {port}

and stops on the way out.  Reports: DIR/diff.md (sessions x servers,
Expected = primary, Observed = candidate, the summary last) and
DIR/diff.json (every observation)."""


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
    two = commands.add_parser(
        "diff", help="primary, secondary, candidate: what the candidate does differently",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DIFF_HELP,
        epilog=sessions.__doc__)
    two.add_argument("--primary", required=True, metavar="SERVER", type=Spec,
                     help="HOST:PORT, or a command with {port}")
    two.add_argument("--candidate", required=True, metavar="SERVER", type=Spec,
                     help="HOST:PORT, or a command with {port}")
    two.add_argument("--secondary", metavar="SERVER", type=Spec,
                     help="default: a second instance of the primary's command (for a "
                          "primary given as HOST:PORT: none, and no noise filtering)")
    two.add_argument("--sessions", metavar="FILE", type=Path,
                     help="the client sessions to run (default: the built-in battery of "
                          "generic probes)")
    two.add_argument("--report", metavar="DIR", type=Path,
                     help="write DIR/diff.json and DIR/diff.md")
    two.add_argument("--hold", metavar="N", type=held_count,
                     help="also hold N connections at once, each then sending a line "
                          "(1100 passes select()'s FD_SETSIZE of 1024); raises this "
                          "tool's descriptor limit, which the servers it starts inherit")
    two.add_argument("--events", action="store_true",
                     help="compare the standard output of the servers the tool started "
                          "too, after normalising addresses, ports, object ids and PIDs")
    three = commands.add_parser(
        "record", help="a recording proxy: real traffic becomes sessions for diff",
        description="Listen on --listen, forward every connection both ways to "
                    "--upstream byte for byte, and write each one to --out as a session "
                    "(what the client sent, its pauses, the bytes the server answered, "
                    "how it ended), rewritten after each connection.  Runs until "
                    "SIGINT/SIGTERM, or --count connections.  Prints 'listening on "
                    "HOST:PORT' first (port 0 picks a free one).")
    three.add_argument("--listen", metavar="HOST:PORT", type=address, required=True)
    three.add_argument("--upstream", metavar="HOST:PORT", type=address, required=True)
    three.add_argument("--out", metavar="FILE", type=Path, required=True)
    three.add_argument("--count", type=int, metavar="N",
                       help="stop after recording N connections")
    three.add_argument("--client", metavar="COMMAND",
                       help="run this client command, with {port} replaced by the "
                            "proxy's port, and stop once it has exited")
    return top


def run_record(args: argparse.Namespace) -> int:
    try:
        status = asyncio.run(record.serve(args.listen, args.upstream, args.out, args.count,
                                          args.client))
    except KeyboardInterrupt:
        return 0  # the way to stop it
    except OSError as exc:
        raise ServerError(f"cannot listen on {args.listen[0]}:{args.listen[1]}: "
                          f"{exc.strerror or exc}") from None
    return 0 if args.client is None or status == 0 else 1


def run_check(args: argparse.Namespace) -> int:
    only = set(args.only or ())
    return check(args.target, args.like, args.report,
                 lambda case_id: not only or case_id in only)


def run_diff(args: argparse.Namespace) -> int:
    chosen = sessions.load(args.sessions) if args.sessions else sessions.battery()
    if args.hold:
        # Three servers' worth of client sockets here, and each server's own.
        make_room(3 * args.hold + 64)
        chosen.append(sessions.held(args.hold))
    outcome = diff(args.primary, args.candidate, args.secondary, chosen, args.events)
    for finding in outcome.findings:
        print(finding.line())
    if args.report:
        write_report(outcome, args.report)
    print(summary(outcome))
    return 1 if outcome.differences else 0


def held_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"not a count of connections: {text!r}")
    return count


def make_room(needed: int) -> None:
    """Raise the soft descriptor limit to ``needed``, or say in one line why not."""
    import resource  # Unix only, as holding thousands of sockets is
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ServerError(f"--hold needs {needed} descriptors and the hard limit is {hard} "
                          f"(ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def stop_on_sigterm(signum: int, frame: object) -> None:
    # Unwinds like Ctrl-C, so that the servers started are stopped too.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        run = {"check": run_check, "diff": run_diff, "record": run_record}[args.command]
        return run(args)
    except (Unreachable, ServerError, FormatError, record.ClientError) as exc:
        print(f"wireproof: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wireproof: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
