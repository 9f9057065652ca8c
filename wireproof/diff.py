"""``diff``: the same client sessions against a primary, a secondary and a
candidate; what the candidate does differently is reported, unless the
primary and secondary disagree there too (Diffy's rule: that is noise).

Sessions run one at a time, each against the three servers at once, so that
the servers go through the same states in the same order.  When the tool
started all of them, whether each server still runs after a session is an
observation too (in the JSON report, one more list after a session's copies),
made once the server sleeps in a wait again; a server that exited is started
again for the next session, so that a session that kills the original
differs there and not in every session after it.  Each step's
observation (the bytes a read got and how it ended, whether a send or a
shutdown worked, how the connection ended) is compared field by field.
With ``--events``, the standard output of each server the tool started is
compared too, line by line, after :func:`normalise` has replaced what
differs from run to run (addresses, ports, object ids, the server's PID).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wireproof.codec import to_json
from wireproof.events import Address
from wireproof.procs import tree, waited_to_run
from wireproof.replay import Observed, Starved, run_session
from wireproof.servers import ServerError, Spec, Started
from wireproof.sessions import ClientSession

ROLES = ("primary", "secondary", "candidate")

# Bytes kept in the JSON report of each observation; longer data is kept as
# its length, SHA-256 and first bytes.
KEPT = 4096
# Bytes shown either side of a first difference.
AROUND = 16


@dataclass
class Server:
    role: str
    spec: Spec
    address: Address
    started: Started | None = None
    # The sessions after which it had exited and was started again, with its status.
    restarts: list[tuple[str, int]] = field(default_factory=list)

    def describe(self) -> str:
        where = f"{self.address[0]}:{self.address[1]}"
        if self.started is None:
            return f"{self.spec.text} (already running)"
        again = "".join(f"; exited with status {status} in {name!r} and started again"
                        for name, status in self.restarts)
        return (f"`{' '.join(self.started.argv)}` (started, pid {self.started.pid}, "
                f"{where}{again})")


@dataclass
class Finding:
    session: int
    name: str
    copy: int
    step: int
    what: str                      # outcome, bytes, or events
    noise: bool
    primary: Any
    candidate: Any
    secondary: Any = None
    detail: str = ""
    copies: int = 1                # how many copies differ alike
    label: str = ""                # the step's description

    def line(self) -> str:
        kind = "noise" if self.noise else "DIFF"
        return f"{kind:5} {self.name}: step {self.step} ({self.what}): {self.detail}"


@dataclass
class Outcome:
    servers: dict[str, Server]
    sessions: list[ClientSession]
    observed: dict[str, list[list[list[Observed]]]]
    findings: list[Finding] = field(default_factory=list)
    events: dict[str, list[str]] | None = None
    filtering: bool = True

    @property
    def differences(self) -> list[Finding]:
        return [f for f in self.findings if not f.noise]


# -- comparing -----------------------------------------------------------------

def first_difference(expected: bytes, observed: bytes) -> int:
    for i, (a, b) in enumerate(zip(expected, observed, strict=False)):
        if a != b:
            return i
    return min(len(expected), len(observed))


def around(data: bytes, offset: int) -> str:
    start = max(0, offset - AROUND)
    return repr(data[start:offset + AROUND])


def describe_bytes(expected: bytes, observed: bytes) -> str:
    at = first_difference(expected, observed)
    return (f"{len(expected)} B expected, {len(observed)} B observed, first difference at "
            f"offset {at}: expected {around(expected, at)}, observed {around(observed, at)}")


MISSING = Observed("-", "missing")


def part(seen: Observed, what: str) -> str | bytes | None:
    return seen.outcome if what == "outcome" else seen.data


def compare_copy(index: int, session: ClientSession, copy: int,
                 seen: dict[str, list[Observed]], filtering: bool) -> list[Finding]:
    found = []
    length = max(len(steps) for steps in seen.values())
    for k in range(length):
        step = {role: steps[k] if k < len(steps) else MISSING for role, steps in seen.items()}
        p, c = step["primary"], step["candidate"]
        s = step.get("secondary")
        if MISSING in step.values():
            break  # a connection that ended sooner: its last step differs already
        for what in ("outcome", "bytes"):
            if part(p, what) == part(c, what) and (s is None or part(s, what) == part(p, what)):
                continue
            noise = filtering and s is not None and part(s, what) != part(p, what)
            if part(p, what) == part(c, what) and not noise:
                continue
            if what == "bytes":
                detail = describe_bytes(p.data or b"", c.data or b"")
            else:
                detail = f"expected {p.outcome}, observed {c.outcome}"
            if noise:
                detail += " (primary and secondary differ too)"
            found.append(Finding(index, session.name, copy, k, what, noise,
                                 part(p, what), part(c, what),
                                 part(s, what) if s else None, f"{p.step}: {detail}",
                                 label=p.step))
    return found


def compare(outcome: Outcome) -> None:
    for i, session in enumerate(outcome.sessions):
        # The copies of a session differ alike: one finding, counted.
        alike: dict[tuple[int, str, str, bool], Finding] = {}
        for copy in range(len(outcome.observed["primary"][i])):
            seen = {role: outcome.observed[role][i][copy] for role in outcome.observed}
            for finding in compare_copy(i, session, copy, seen, outcome.filtering):
                key = (finding.step, finding.label, finding.what, finding.noise)
                if key in alike:
                    alike[key].copies += 1
                else:
                    alike[key] = finding
        outcome.findings += alike.values()


NORMALISE = [
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "0x?"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (re.compile(r"\[[0-9a-fA-F:]*:[0-9a-fA-F:]*\]"), "<ip>"),
    (re.compile(r"(<ip>'?(?::|, ))\d+"), r"\1<port>"),
    (re.compile(r"\b(fd|pid)=\d+"), r"\1=?"),
]


def normalise(line: str, pid: int | None = None) -> str:
    """An event line with what differs from run to run replaced."""
    for pattern, replacement in NORMALISE:
        line = pattern.sub(replacement, line)
    if pid is not None:
        line = re.sub(rf"\b{pid}\b", "<pid>", line)
    return line


def compare_events(outcome: Outcome) -> None:
    events: dict[str, list[str]] = {}
    for role, server in outcome.servers.items():
        if server.started is not None:
            # Every run of it, one after another, when it had to be started again.
            events[role] = [normalise(line.decode("utf-8", "backslashreplace"), proc.pid)
                            for proc in server.started.procs for line in proc.lines]
    outcome.events = events
    if "primary" not in events or "candidate" not in events:
        return
    p, c, s = events["primary"], events["candidate"], events.get("secondary")
    if p == c and (s is None or s == p):
        return
    noise = outcome.filtering and s is not None and s != p
    if p == c and not noise:
        return
    at = next((i for i, (a, b) in enumerate(zip(p, c, strict=False)) if a != b),
              min(len(p), len(c)))
    line_p = p[at] if at < len(p) else "(no more lines)"
    line_c = c[at] if at < len(c) else "(no more lines)"
    detail = (f"{len(p)} lines expected, {len(c)} observed; first difference at line {at}: "
              f"expected {line_p!r}, observed {line_c!r}")
    if noise:
        detail += " (primary and secondary differ too)"
    outcome.findings.append(Finding(-1, "standard output", 0, at, "events", noise,
                                    line_p, line_c, None, detail))


# -- running -------------------------------------------------------------------

@contextlib.contextmanager
def servers(primary: Spec, candidate: Spec, secondary: Spec | None
            ) -> Iterator[dict[str, Server]]:
    """The three servers, started where a command was given, and stopped on
    the way out whatever happens."""
    specs = {"primary": primary, "secondary": secondary, "candidate": candidate}
    if secondary is None and primary.address is None:
        specs["secondary"] = primary          # a second instance of the command
    for role, spec in specs.items():
        if spec is not None:
            spec.check(role)
    with contextlib.ExitStack() as stack:
        running: dict[str, Server] = {}
        for role in ROLES:
            spec = specs[role]
            if spec is None:
                continue
            address = spec.address
            if address is not None:
                running[role] = Server(role, spec, address)
                continue
            started = Started(role, spec)
            stack.callback(started.stop)
            running[role] = Server(role, spec, started.address, started)
        # Started side by side, then waited for: an original under Python 2.7
        # can take seconds to listen.
        for server in running.values():
            if server.started is not None:
                server.started.ready()
        yield running


def starved(server: Started | None) -> Starved:
    """The seconds so far that ``server``'s processes (where this tool started
    it) and this thread have spent runnable, waiting for a CPU; read from
    /proc at most every 5 ms, however many copies of a session ask."""
    me, thread = os.getpid(), threading.get_native_id()
    last = [float("-inf"), 0.0]  # when it was read, and what it was

    def clock() -> float:
        now = time.monotonic()
        if now - last[0] > 0.005:
            total = waited_to_run(me, [thread])
            if server is not None:
                total += sum(waited_to_run(pid) for pid in tree(server.pid))
            last[:] = [now, total]
        return last[1]
    return clock


async def _replay(sessions: list[ClientSession], running: dict[str, Server],
                  say: Callable[[str], None]) -> dict[str, list[list[list[Observed]]]]:
    observed: dict[str, list[list[list[Observed]]]] = {role: [] for role in running}
    watched = all(server.started is not None for server in running.values())
    loop = asyncio.get_running_loop()
    for number, session in enumerate(sessions):
        began = loop.time()
        results = await asyncio.gather(*(
            run_session(server.address, session,
                        server.started.control if watched and server.started else None,
                        starved(server.started))
            for server in running.values()))
        again = []
        for role, copies in zip(running, results, strict=True):
            server = running[role]
            started = server.started
            if watched and started is not None:
                # Whether the server survived the session is an observation
                # too: a copy of its own, after the session's.
                started.settle()
                status = started.proc.popen.poll()
                copies.append([Observed("the server after the session",
                                        "running" if status is None
                                        else f"exited with status {status}")])
                if status is not None and number < len(sessions) - 1:
                    say(f"the {role} server exited with status {status} in "
                        f"{session.name!r}: starting it again")
                    started.restart()
                    server.restarts.append((session.name, status))
                    again.append(server)
            observed[role].append(copies)
            connect = next((o for o in copies[0] if o.step == "connect"), None)
            if number == 0 and connect is not None and connect.outcome.startswith("error"):
                raise ServerError(f"the {role} server at {server.address[0]}:"
                                  f"{server.address[1]} refuses connections: "
                                  f"{connect.outcome.removeprefix('error: ')}")
        # Started side by side, then waited for, as at the beginning.
        for server in again:
            assert server.started is not None
            server.started.ready()
            server.address = server.started.address
        say(f"ran   {session.name}" + (f" ({session.copies} at once)"
                                        if session.copies > 1 else "")
            + f" in {loop.time() - began:.1f} s")
    return observed


async def _until_stopped(sessions: list[ClientSession], running: dict[str, Server],
                         say: Callable[[str], None]
                         ) -> dict[str, list[list[list[Observed]]]] | None:
    """``_replay``, or None once SIGINT or SIGTERM came: the signal cancels
    it, and the sessions under way close their connections, instead of a
    KeyboardInterrupt raised in whichever task was running."""
    loop = asyncio.get_running_loop()
    replay = asyncio.current_task()
    assert replay is not None
    stopped: list[int] = []

    def stop(signum: int) -> None:
        stopped.append(signum)
        replay.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signum, stop, signum)  # the main thread, Unix
    try:
        return await _replay(sessions, running, say)
    except asyncio.CancelledError:
        if stopped:
            return None
        raise


def diff(primary: Spec, candidate: Spec, secondary: Spec | None,
         sessions: list[ClientSession], events: bool = False,
         say: Callable[[str], None] = print) -> Outcome:
    with servers(primary, candidate, secondary) as running:
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT,
                                                                      signal.SIGTERM)}
        try:
            replayed = asyncio.run(_until_stopped(sessions, running, say))
        finally:
            # The loop's signal handlers leave SIG_DFL behind them: a signal
            # now must still stop the servers on the way out.
            for signum, handler in handlers.items():
                if handler is not None:
                    signal.signal(signum, handler)
        if replayed is None:
            raise KeyboardInterrupt
        observed = replayed
        outcome = Outcome(running, sessions, observed, filtering="secondary" in running)
        compare(outcome)
        if events:
            for server in running.values():
                if server.started is not None:
                    server.started.stop()
            compare_events(outcome)
    return outcome


# -- the report ----------------------------------------------------------------

def observed_json(seen: Observed) -> dict[str, Any]:
    out: dict[str, Any] = {"step": seen.step, "outcome": seen.outcome}
    if seen.data is not None:
        if len(seen.data) <= KEPT:
            out["data"] = to_json(seen.data)
        else:
            out["data_length"] = len(seen.data)
            out["data_sha256"] = hashlib.sha256(seen.data).hexdigest()
            out["data_head"] = to_json(seen.data[:KEPT])
    return out


def value_json(value: Any) -> Any:
    return to_json(value) if isinstance(value, bytes) else value


def summary(outcome: Outcome) -> str:
    differences = len(outcome.differences)
    noise = len(outcome.findings) - differences
    verdict = ("the candidate answers as the primary does" if not differences
               else "the candidate differs from the primary")
    return (f"{len(outcome.sessions)} sessions, {differences} differences, {noise} noise: "
            f"{verdict}")


def report_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "servers": {role: {"spec": server.spec.text, "started": server.started is not None,
                           "pid": server.started.pid if server.started else None,
                           "address": f"{server.address[0]}:{server.address[1]}",
                           "restarts": [{"after": name, "status": status}
                                        for name, status in server.restarts]}
                    for role, server in outcome.servers.items()},
        "noise_filtering": outcome.filtering,
        "sessions": [{"name": session.name, "copies": session.copies,
                      "steps": [step.describe() for step in session.steps],
                      "observed": {role: [[observed_json(o) for o in copy]
                                          for copy in outcome.observed[role][i]]
                                   for role in outcome.observed}}
                     for i, session in enumerate(outcome.sessions)],
        "events": outcome.events,
        "findings": [{"session": f.name, "copy": f.copy, "step": f.step, "what": f.what,
                      "kind": "noise" if f.noise else "difference",
                      "copies_alike": f.copies,
                      "expected": value_json(f.primary), "observed": value_json(f.candidate),
                      "secondary": value_json(f.secondary), "detail": f.detail}
                     for f in outcome.findings],
        "summary": {"sessions": len(outcome.sessions),
                    "differences": len(outcome.differences),
                    "noise": len(outcome.findings) - len(outcome.differences),
                    "same": not outcome.differences, "text": summary(outcome)},
    }


def cell(copies: list[list[Observed]], session: ClientSession) -> str:
    first = copies[0]
    parts = [f"{len(o.data)} B {o.outcome}" if o.data else o.outcome for o in first[1:]]
    text = ", ".join(parts) or first[0].outcome
    text += f" (x{session.copies})" if session.copies > 1 else ""
    if len(copies) > session.copies:
        text += f"; server {copies[-1][0].outcome}"
    return text


def report_markdown(outcome: Outcome) -> str:
    roles = list(outcome.observed)
    lines = ["# wireproof diff", ""]
    lines += [f"- {role}: {outcome.servers[role].describe()}" for role in roles]
    if not outcome.filtering:
        lines += ["", "No secondary: no noise filtering (every disagreement with the primary "
                  "is reported as a difference)."]
    lines += ["", "Expected = primary, Observed = candidate.  Each cell: what each step after "
              "the connect observed.", "",
              "| session | " + " | ".join(roles) + " | verdict |",
              "|---|" + "---|" * (len(roles) + 1)]
    for i, session in enumerate(outcome.sessions):
        mine = [f for f in outcome.findings if f.session == i]
        verdict = ("**differs**" if any(not f.noise for f in mine)
                   else "noise" if mine else "same")
        cells = [cell(outcome.observed[role][i], session) for role in roles]
        lines.append(f"| {session.name} | " + " | ".join(cells) + f" | {verdict} |")
    for title, noise in (("Differences", False), ("Noise", True)):
        chosen = [f for f in outcome.findings if f.noise is noise]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        for f in chosen:
            alike = f" ({f.copies} copies alike)" if f.copies > 1 else ""
            lines += [f"- **{f.name}**, copy {f.copy}, step {f.step} ({f.what}){alike}",
                      f"  - Expected: {value_text(f.primary)}",
                      f"  - Observed: {value_text(f.candidate)}"]
            if f.secondary is not None:
                lines.append(f"  - Secondary: {value_text(f.secondary)}")
            lines.append(f"  - {f.detail}")
    lines += ["", "## Summary", "", summary(outcome), ""]
    return "\n".join(lines)


def value_text(value: Any) -> str:
    if isinstance(value, bytes):
        return repr(value) if len(value) <= 80 else f"{value[:80]!r}... ({len(value)} B)"
    return str(value)


def write_report(outcome: Outcome, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "diff.json").write_text(json.dumps(report_json(outcome), indent=1) + "\n")
    (directory / "diff.md").write_text(report_markdown(outcome))
