"""Benchmark the socket servers: legacy originals, their ports and the new servers.

Scenarios (clients on 127.0.0.1 only, every wait bounded):
  greet     connect, read the greeting until the server closes; 16 clients at once
  chat      connect, read the greeting if any, send 32 bytes, close (v4 servers);
            4 clients at once, below the originals' listen backlog of 5
  stream    64 persistent connections sending 32-byte messages; messages/s the
            server has read (the server closes each one once it has read it all)
  idle      hold N idle connections (0, 10, 100, 1,000, 10,000 where the server
            survives it): chat latency, the server's CPU while idle, its memory
            per idle connection
  syscalls  the cost of one select, poll and epoll wait, one ready among N idle

Implementations are named like the contract suite's: v4_select/legacy (the
original under Python 2.7), v4_select/port, v4_select/selectors,
v4_select/asyncio, v4_select/uvloop, and v4_select/threading,
v4_select/forking (a thread or a process per connection, speaking the chat
conversation).  Rounds alternate them (A B A B ...); the report gives medians,
min-max, each one's ratio to its legacy original, the load generator's own CPU
share against the server's round by round, and its ceiling against nginx (or,
without nginx, the fastest port).  The load generator is C (sockbench/loadgen.c,
compiled on first use); where it cannot be built, the Python one runs and the
report's first line says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modern.common import OneLineParser
from sockbench import native, report, runner
from sockbench.registry import VARIANTS, by_name, implementations
from sockbench.servers import ServerError

SCENARIOS = ("greet", "chat", "stream", "idle", "syscalls")
# Idle connections are held by this process and by the server: two descriptors
# each, below the usual hard limit of 20,000 or more.
MAX_IDLE = 10_000


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


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if levels[0] < 0 or levels[-1] > MAX_IDLE:
        raise argparse.ArgumentTypeError(f"levels must be between 0 and {MAX_IDLE:,}")
    return levels


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m sockbench", description=__doc__.splitlines()[0],
                epilog="\n".join(__doc__.splitlines()[2:]),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="one short round and fewer N: about a minute, for a first look")
    p.add_argument("--scenario", action="append", choices=SCENARIOS, metavar="NAME",
                   help=f"run only this scenario ({', '.join(SCENARIOS)}); repeatable; "
                        "default all")
    p.add_argument("--impl", action="append", metavar="NAME",
                   help="run only this implementation, e.g. v4_select/port; repeatable; "
                        "default every one that applies and can run here")
    p.add_argument("--json", type=Path, metavar="FILE", help="write every raw figure to FILE")
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="draw PNG charts into DIR (made if missing; needs matplotlib, "
                        "pip install -e '.[bench]')")
    p.add_argument("--from", dest="source", type=Path, metavar="FILE",
                   help="measure nothing: print, and with --plot draw, the report in "
                        "FILE, written by --json")
    p.add_argument("--part", metavar="NAME",
                   help="with --from, print only this part of the report (machine, a "
                        "scenario, models, targets), as the docs embed it")
    p.add_argument("--embed", action="append", type=Path, metavar="PAGE",
                   help="with --from, rewrite the blocks of the Markdown file PAGE that "
                        "follow a <!-- bench: PART --> line with that part of the report; "
                        "repeatable")
    p.add_argument("--rounds", type=_positive(int), metavar="N",
                   help="rounds per implementation (default 4, 1 with --quick)")
    p.add_argument("--duration", type=_positive(float), metavar="SECONDS",
                   help="seconds per implementation per round (default 1.5, 0.3 with --quick)")
    p.add_argument("--idle-levels", type=_levels, metavar="N,N,...",
                   help="idle connections to hold in the idle scenario "
                        "(default 0,10,100,1000,10000; 0,1000 with --quick)")
    p.add_argument("--workers", type=_positive(int), metavar="N",
                   help="load generator processes (default half the CPUs, at least 1)")
    p.add_argument("--generator", choices=("c", "python"), default="c",
                   help="the load generator: c (default; built on first use with cc, or "
                        f"${native.COMPILER_VARIABLE}, and cached in {native.cache_dir()}; "
                        "the Python one where that fails, as the report's first line says) "
                        "or python")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.plot is not None:
        if not args.plot.parent.is_dir():
            p.error(f"--plot: no such directory: {args.plot.parent}")
        if importlib.util.find_spec("matplotlib") is None:
            p.error("--plot needs matplotlib: pip install -e '.[bench]'")
    for option, value in (("--part", args.part), ("--embed", args.embed)):
        if value is not None and args.source is None:
            p.error(f"{option} needs --from FILE")
    if args.source is not None:
        return replay(p, args.source, args.plot, args.part, args.embed or [])
    scenarios = list(dict.fromkeys(args.scenario or SCENARIOS))
    try:
        impls = ([by_name(name) for name in dict.fromkeys(args.impl)] if args.impl
                 else implementations())
    except KeyError as exc:
        p.error(f"unknown implementation {exc.args[0]!r}; names look like v4_select/port "
                f"({', '.join(VARIANTS)}; not every one speaks every conversation)")
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
                                               ("workers", args.workers),
                                               ("idle_levels", args.idle_levels),
                                               ("generator", args.generator)) if value}
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
    if args.json is not None:
        report.write_json(result, args.json)
    print(report.text(result), flush=True)
    if args.plot is not None:
        draw(result, args.plot)
    return 0


def draw(result: dict[str, Any], directory: Path) -> None:
    from sockbench import plot  # matplotlib is optional: imported only when asked for

    directory.mkdir(exist_ok=True)
    for path in plot.charts(result, directory):
        print(f"wrote {path}", file=sys.stderr)


def replay(p: OneLineParser, source: Path, directory: Path | None, part: str | None,
           pages: list[Path]) -> int:
    """``--from FILE``: the report and charts of an earlier run, measuring nothing;
    with ``--embed``, its parts written into the pages instead of printed."""
    try:
        result = json.loads(source.read_text())
    except OSError as exc:
        p.error(f"--from: cannot read {source}: {exc.strerror}")
    except ValueError as exc:
        p.error(f"--from: {source} is not JSON: {exc}")
    if not isinstance(result, dict) or result.get("schema") != report.SCHEMA:
        p.error(f"--from: {source} is not a report of schema {report.SCHEMA} "
                "(written by --json)")
    result["targets"] = report.targets(result)
    if pages:
        return _embed(p, report.sections(result), pages)
    if part is None:
        print(report.text(result), flush=True)
    else:
        parts = report.sections(result)
        if part not in parts:
            p.error(f"--part: {source} has no part {part!r}; it has {', '.join(parts)}")
        print("\n".join(parts[part]), flush=True)
    if directory is not None:
        draw(result, directory)
    return 0


def _embed(p: OneLineParser, parts: dict[str, list[str]], pages: list[Path]) -> int:
    """Every page checked first, then written: a bad one leaves all as they were."""
    rewritten = []
    for page in pages:
        try:
            text, changed = report.embed(page.read_text(encoding="utf-8"), parts)
        except OSError as exc:
            p.error(f"--embed: cannot read {page}: {exc.strerror}")
        except ValueError as exc:
            p.error(f"--embed: {page}, {exc}")
        rewritten.append((page, text, changed))
    for page, text, changed in rewritten:
        if changed:
            page.write_text(text, encoding="utf-8")
        print(f"{page}: {changed} block(s) rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
