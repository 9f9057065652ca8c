"""Benchmark the socket servers: legacy originals, their ports and the new servers.

Scenarios (clients on 127.0.0.1 only, every wait bounded):
  greet     connect, read the greeting until the server closes; 16 clients at once
  chat      connect, read the greeting if any, send 32 bytes, close (v4 servers);
            4 clients at once, below the originals' listen backlog of 5
  syscalls  the cost of one select, poll and epoll wait, one ready among N idle

Implementations are named like the contract suite's: v4_select/legacy (the
original under Python 2.7), v4_select/port, v4_select/selectors,
v4_select/asyncio, v4_select/uvloop.  Rounds alternate them (A B A B ...); the
report gives medians, min-max, each one's ratio to its legacy original, the
load generator's own CPU share, and its ceiling against nginx (or, without
nginx, the fastest port).  Not yet here: the stream and idle-scaling
scenarios and --plot.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import report, runner
from bench.registry import by_name, implementations
from bench.servers import ServerError
from modern.common import OneLineParser

SCENARIOS = ("greet", "chat", "syscalls")


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value
    return parse


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m bench", description=__doc__.splitlines()[0],
                epilog="\n".join(__doc__.splitlines()[2:]),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="2 short rounds and fewer N: under a minute, for a first look")
    p.add_argument("--scenario", action="append", choices=SCENARIOS, metavar="NAME",
                   help=f"run only this scenario ({', '.join(SCENARIOS)}); repeatable; "
                        "default all")
    p.add_argument("--impl", action="append", metavar="NAME",
                   help="run only this implementation, e.g. v4_select/port; repeatable; "
                        "default every one that applies and can run here")
    p.add_argument("--json", type=Path, metavar="FILE", help="write every raw figure to FILE")
    p.add_argument("--rounds", type=_positive(int), metavar="N",
                   help="rounds per implementation (default 5, 2 with --quick)")
    p.add_argument("--duration", type=_positive(float), metavar="SECONDS",
                   help="seconds per implementation per round (default 3, 0.5 with --quick)")
    p.add_argument("--workers", type=_positive(int), metavar="N",
                   help="load generator processes (default half the CPUs, at least 1)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    scenarios = list(dict.fromkeys(args.scenario or SCENARIOS))
    try:
        impls = ([by_name(name) for name in dict.fromkeys(args.impl)] if args.impl
                 else implementations())
    except KeyError as exc:
        p.error(f"unknown implementation {exc.args[0]!r}; names look like v4_select/port "
                "(legacy, port, selectors, asyncio, uvloop)")
    if args.impl:
        for scenario in scenarios:
            if scenario != "syscalls" and not any(runner.applies(scenario, i) for i in impls):
                p.error(f"no chosen implementation speaks a {scenario} conversation")
        if scenarios == ["syscalls"]:
            p.error("--impl does not apply to the syscalls scenario")
    if args.json is not None and not args.json.parent.is_dir():
        p.error(f"--json: no such directory: {args.json.parent}")
    settings = runner.Settings.quick() if args.quick else runner.Settings()
    overrides = {key: value for key, value in (("rounds", args.rounds),
                                               ("duration", args.duration),
                                               ("workers", args.workers)) if value}
    settings = dataclasses.replace(settings, **overrides)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        result = runner.run(scenarios, impls, settings, progress)
    except ServerError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{p.prog}: interrupted; every server was stopped", file=sys.stderr)
        return 130
    result["targets"] = report.targets(result)
    print(report.text(result), flush=True)
    if args.json is not None:
        report.write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
