"""The scenarios: servers started once, then measured in alternating rounds.

Every implementation of a scenario runs at once, idle but for the one being
measured, and the rounds go A B C ... A B C ...: whatever else the machine
does slows each of them alike, and round ``i`` of one implementation can be
compared with round ``i`` of its legacy original (see ``stats.paired_ratio``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.pool
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from compat.loops import uvloop_available
from modern.common import CONVERSATIONS
from sockbench import loadgen, native, report, stats, syscalls
from sockbench.idle import IdleConnections
from sockbench.registry import WORKERS, WORKERS_VARIANTS, Implementation, python2
from sockbench.servers import Server, nginx_path, start_nginx

HOST = "127.0.0.1"

# What each conversation scenario sends after the greeting (chat) or nothing (greet).
CHAT_PAYLOAD = b"x" * 32

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How long and how hard to measure."""

    rounds: int = 4
    duration: float = 1.5         # seconds per implementation per round
    workers: int = max(1, (os.cpu_count() or 2) // 2)  # load generator processes
    timeout: float = 5.0          # a connection unfinished after this is given up
    greet_clients: int = 16
    # Below the originals' listen backlog of 5: a full accept queue drops
    # handshakes for a second and measures the backlog, not the I/O model.
    chat_clients: int = 4
    stream_connections: int = 64
    # The originals print every chunk they read: draining what the kernel
    # buffered for them takes seconds (the drain ends earlier once the server
    # makes no more progress).
    stream_drain: float = 30.0
    idle_counts: tuple[int, ...] = (0, 10, 100, 300, 1000, 3000, 10000)  # syscalls
    syscall_seconds: float = 0.1  # per mechanism, N and round
    # Idle scaling: the levels of idle connections (10 so that a server that
    # holds only a few, such as forking_server's 40 children, still shows its
    # cost per connection), sweeps over them, seconds of idle CPU measured per
    # level, and the bound on opening one level's connections.
    idle_levels: tuple[int, ...] = (0, 10, 100, 1000, 10000)
    idle_rounds: int = 2
    idle_window: float = 1.0
    idle_chat: float = 1.0        # seconds of chat per level
    # Opening a level may take 5 s, plus 1 s per 500 connections, 20 s at
    # most: a server slower than that to accept (the spinning v4_poll) fails it.
    idle_grow_timeout: float = 20.0
    idle_settle: float = 1.5      # bound on waiting for the server to go quiet
    generator: str = "c"          # "c" (the Python one where it cannot be built) or "python"

    @classmethod
    def quick(cls) -> Settings:
        """One short round of everything, two idle levels: about a minute."""
        return cls(rounds=1, duration=0.3, timeout=0.5, stream_drain=5.0, stream_connections=16,
                   idle_counts=(0, 100, 1000, 10000), syscall_seconds=0.02,
                   idle_levels=(0, 1000), idle_rounds=1, idle_window=0.2, idle_chat=0.2,
                   idle_grow_timeout=3.0, idle_settle=0.3)


def applies(scenario: str, impl: Implementation) -> bool:
    """greet needs a server that closes after its greeting; chat, stream and
    idle one that reads."""
    closes = CONVERSATIONS[impl.like].closes
    return closes if scenario == "greet" else not closes


# The figure each conversation scenario counts per second.
RATE = {"greet": "conn_per_s", "chat": "conn_per_s", "stream": "msg_per_s"}


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted``; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


J = TypeVar("J")  # a job for a worker
R = TypeVar("R")  # what it returns


class Generator:
    """The load generator, for the whole run: the C one where ``native`` is
    its built binary, run as ``workers`` processes per round; else the
    Python one's worker processes, started once."""

    def __init__(self, workers: int, native: Path | None) -> None:
        self.workers = workers
        self.native = native
        # spawn: the workers must not inherit this process's servers' files.
        self._pool = (None if native is not None
                      else multiprocessing.get_context("spawn").Pool(workers))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    def _shares(self, count: int) -> list[int]:
        """``count`` connections split over the workers as evenly as they go."""
        workers = min(self.workers, count)
        return [count // workers + (i < count % workers) for i in range(workers)]

    def _each(self, function: Callable[[J], R], jobs: list[J], bound: float) -> list[R]:
        """``function(job)`` for every job at once, one worker each; every result
        within ``bound`` seconds."""
        assert self._pool is not None
        pending = [self._pool.apply_async(function, (job,)) for job in jobs]
        return [p.get(bound) for p in pending]

    def _conn(self, jobs: list[loadgen.Job], bound: float) -> list[loadgen.WorkerResult]:
        if self.native is None:
            return self._each(loadgen.run, jobs, bound)
        binary = self.native
        outputs = native.run_all([native.conn_argv(binary, job) for job in jobs], bound)
        return [native.worker_result(out) for out in outputs]

    def _stream(self, jobs: list[loadgen.StreamJob], bound: float) -> list[loadgen.StreamResult]:
        if self.native is None:
            return self._each(loadgen.stream, jobs, bound)
        binary = self.native
        outputs = native.run_all([native.stream_argv(binary, job) for job in jobs], bound)
        return [native.stream_result(out) for out in outputs]

    def measure(self, port: int, concurrency: int, settings: Settings,
                greeting: int, payload: bytes) -> dict[str, Any]:
        """One round against ``port``: the figures of every worker, combined."""
        jobs = [loadgen.Job(HOST, port, share, settings.duration, greeting, payload,
                            settings.timeout) for share in self._shares(concurrency)]
        results = self._conn(jobs, settings.duration + settings.timeout + 30)
        latencies = [lat for r in results for lat in r.latencies]
        wall = max(r.wall for r in results)
        return {
            "conn_per_s": sum(r.completed for r in results) / settings.duration,
            "completed": sum(r.completed for r in results),
            "late": sum(r.late for r in results),
            "errors": _errors(results),
            "p50_ms": stats.percentile(latencies, 50) * 1000 if latencies else None,
            "p99_ms": stats.percentile(latencies, 99) * 1000 if latencies else None,
            # How busy the generator's processes were while the window was
            # open: near 100% would mean the generator, not the server, was the limit.
            "generator_cpu": sum(r.window_cpu for r in results) / (settings.duration * len(jobs)),
            "generator_cpu_seconds": sum(r.cpu for r in results),
            "generator_processes": len(jobs),
            "seconds": wall,
        }

    def stream(self, port: int, settings: Settings, greeting: int,
               server_pid: int) -> dict[str, Any]:
        """One stream round: ``settings.stream_connections`` connections sending."""
        jobs = [loadgen.StreamJob(HOST, port, share, settings.duration, greeting,
                                  CHAT_PAYLOAD, timeout=settings.timeout,
                                  drain=settings.stream_drain, server_pid=server_pid)
                for share in self._shares(settings.stream_connections)]
        # Connecting to a spinning original is slow: a generous bound.
        results = self._stream(jobs, jobs[0].setup + settings.duration + settings.stream_drain
                               + 4 * settings.timeout + 60)
        seconds = max(r.seconds for r in results)
        sent = sum(r.sent for r in results)
        return {
            "msg_per_s": sent / len(CHAT_PAYLOAD) / seconds if seconds else 0.0,
            "mb_per_s": sent / 1e6 / seconds if seconds else 0.0,
            "connections": sum(r.connections for r in results),
            "errors": _errors(results),
            "generator_cpu": sum(r.cpu for r in results) / (seconds * len(jobs))
            if seconds else None,
            "generator_processes": len(jobs),
            "seconds": seconds,
        }


def _errors(results: Sequence[loadgen.WorkerResult | loadgen.StreamResult]) -> dict[str, int]:
    """The error counts of every worker, added up."""
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    return dict(errors)


@dataclass
class _Entry:
    label: str
    server: Server
    greeting: int
    payload: bytes
    concurrency: int
    impl: Implementation | None  # None for the ceiling
    dead: str | None = None


def _measure_entry(scenario: str, entry: _Entry, generator: Generator,
                   settings: Settings) -> dict[str, Any]:
    if entry.dead is None and not entry.server.alive():
        entry.dead = f"server exited with status {entry.server.popen.returncode}"
    if entry.dead is not None:
        return {RATE[scenario]: 0.0, "failed": entry.dead}
    cpu0, started = entry.server.cpu_seconds(), time.monotonic()
    if scenario == "stream":
        record = generator.stream(entry.server.port, settings, entry.greeting,
                                  entry.server.pid)
    else:
        record = generator.measure(entry.server.port, entry.concurrency, settings,
                                   entry.greeting, entry.payload)
    cpu1, wall = entry.server.cpu_seconds(), time.monotonic() - started
    # Over the whole round, connecting and draining included.
    record["server_cpu"] = (cpu1 - cpu0) / wall if cpu0 is not None and cpu1 is not None else None
    record["generator_bound"] = generator_bound(record)
    if not entry.server.alive():
        entry.dead = (f"server exited with status {entry.server.popen.returncode} "
                      f"in round: {entry.server.stderr_tail()}")
        record["failed"] = entry.dead
    return record


def generator_bound(record: dict[str, Any]) -> bool | None:
    """Whether a round's generator used too much CPU for the rate to be
    the server's; None where either CPU share is unknown."""
    gen, srv = record.get("generator_cpu"), record.get("server_cpu")
    if gen is None or srv is None:
        return None
    return bool(gen * record.get("generator_processes", 1) >= report.HEADROOM * srv)


def _summary(rounds: list[dict[str, Any]], rate: str = "conn_per_s") -> dict[str, Any]:
    ok = [r for r in rounds if "failed" not in r]

    def middle(key: str) -> float | None:
        values = [r[key] for r in ok if r.get(key) is not None]
        return stats.median(values) if values else None

    errors: Counter[str] = Counter()
    for r in ok:
        errors.update(r["errors"])
    failed = next((r["failed"] for r in rounds if "failed" in r), None)
    figures = ("mb_per_s",) if rate == "msg_per_s" else ("p50_ms", "p99_ms")
    return {
        rate: stats.spread([r[rate] for r in rounds]),
        **{key: middle(key) for key in figures},
        "generator_cpu": middle("generator_cpu"), "server_cpu": middle("server_cpu"),
        "errors": dict(errors), "failed": failed,
    }


def ceiling_server(workdir: Path) -> tuple[str, Server, int]:
    """The fastest greeting server there is: nginx, else the fastest port.

    Of the ports, selectors_server speaking v1_server's conversation was the
    fastest on greet where this was written (ahead of uvloop, whose C loop
    pays for Python coroutines and stream objects per connection).
    """
    if nginx_path() is not None:
        greeting = CONVERSATIONS["v1_server"].greeting
        return "nginx stream return", start_nginx(HOST, greeting, workdir), len(greeting)
    impl = Implementation("v1_server", "selectors")
    server = Server("ceiling", impl.argv(HOST), workdir)
    server.wait_listening()
    return f"{impl.name} (nginx not found)", server, len(CONVERSATIONS["v1_server"].greeting)


def run_conversations(scenario: str, impls: list[Implementation], settings: Settings,
                      generator: Generator, with_ceiling: bool,
                      progress: Progress) -> dict[str, Any]:
    """greet, chat or stream for every implementation in ``impls``, plus the
    ceiling if asked."""
    chat = scenario == "chat"
    rate = RATE[scenario]
    concurrency = {"greet": settings.greet_clients, "chat": settings.chat_clients,
                   "stream": settings.stream_connections}[scenario]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        entries: list[_Entry] = []
        ceiling_name = None
        for impl in impls:
            server = stack.enter_context(Server(impl.name, impl.argv(HOST), workdir))
            greeting = len(CONVERSATIONS[impl.like].greeting)
            entries.append(_Entry(impl.name, server, greeting, CHAT_PAYLOAD if chat else b"",
                                  concurrency, impl))
        if with_ceiling:
            ceiling_name, server, greeting = ceiling_server(workdir)
            stack.enter_context(server)
            entries.append(_Entry("ceiling", server, greeting, b"",
                                  settings.greet_clients, None))
        for entry in entries:
            if entry.server.port == 0:
                entry.server.wait_listening()
        rounds: dict[str, list[dict[str, Any]]] = {e.label: [] for e in entries}
        started = time.monotonic()
        for number in range(1, settings.rounds + 1):
            for entry in entries:
                rounds[entry.label].append(_measure_entry(scenario, entry, generator, settings))
            elapsed = time.monotonic() - started
            left = elapsed / number * (settings.rounds - number)
            progress(f"{scenario}: round {number}/{settings.rounds} done, "
                     f"{elapsed:.0f} s so far, about {left:.0f} s to go")
    results: dict[str, Any] = {}
    for entry in entries:
        if entry.impl is None:
            continue
        summary = _summary(rounds[entry.label], rate)
        summary["ratio_to_legacy"] = _paired(rounds, entry.label, f"{entry.impl.like}/legacy",
                                             rate)
        if entry.impl.variant in WORKERS_VARIANTS:
            # What the extra processes buy: against the same server in one.
            summary["processes"] = WORKERS
            summary["ratio_to_one_process"] = _paired(
                rounds, entry.label, f"{entry.impl.like}/{WORKERS_VARIANTS[entry.impl.variant]}",
                rate)
        results[entry.label] = {"like": entry.impl.like, "legacy": entry.impl.legacy,
                                **summary, "rounds": rounds[entry.label]}
    out: dict[str, Any] = {"clients": concurrency, "results": results}
    if with_ceiling:
        out["ceiling"] = {"server": ceiling_name, **_summary(rounds["ceiling"]),
                          "rounds": rounds["ceiling"]}
    return out


def _paired(rounds: dict[str, list[dict[str, Any]]], label: str, reference: str,
            rate: str) -> float | None:
    """``label``'s rate over ``reference``'s, round by round, or None if the
    reference was not run."""
    if reference not in rounds:
        return None
    return stats.paired_ratio([r[rate] for r in rounds[label]],
                              [r[rate] for r in rounds[reference]])


def _wait_accepted(server: Server, count: int, timeout: float) -> str | None:
    """None once the server holds ``count`` connections (its socket count from
    /proc, less the sockets it had before any connection), or why not within
    ``timeout``.

    Needed where the conversation has no greeting: a finished handshake only
    says the kernel queued the connection, not that the server accepted it.
    """
    deadline = time.monotonic() + timeout
    while True:
        sockets = server.socket_count()
        if sockets is None or sockets - server.own_sockets >= count:
            return None
        if not server.alive():
            return f"the server exited with status {server.popen.returncode}"
        if time.monotonic() >= deadline:
            return (f"the server accepted {max(sockets - server.own_sockets, 0)} of {count} "
                    f"in {timeout:g} s")
        time.sleep(0.05)


def _wait_accepted_down(server: Server, timeout: float) -> None:
    """Wait, up to ``timeout``, until the server holds no connection any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.alive():
        sockets = server.socket_count()
        if sockets is None or sockets <= server.own_sockets:
            return
        time.sleep(0.1)


def _settle(server: Server, timeout: float) -> None:
    """Wait, up to ``timeout``, until the server's CPU time stops growing: the
    last connections may still be being set up after they were accepted.  A
    server that spins never settles, and the idle window then shows it."""
    deadline = time.monotonic() + timeout
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = server.cpu_seconds()
        if now == before:
            return
        before = now


def _idle_level(server: Server, idle: IdleConnections, count: int, greeting: int,
                generator: Generator, settings: Settings) -> dict[str, Any]:
    """Grow to ``count`` idle connections, then measure idle CPU, memory and chat."""
    started = time.monotonic()
    bound = min(settings.idle_grow_timeout, 5.0 + (count - len(idle)) / 500)
    why = idle.grow(count, bound)
    if why is None:
        left = bound - (time.monotonic() - started)
        why = _wait_accepted(server, count, max(left, 1.0))
    if not server.alive():
        why = (f"the server exited with status {server.popen.returncode}: "
               f"{server.stderr_tail()}")
    if why is not None:
        return {"idle": count, "failed": why}
    _settle(server, settings.idle_settle)
    # Measured over a window in which nothing is sent: what waiting costs.
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(settings.idle_window)
    cpu1, t1 = server.cpu_seconds(), time.monotonic()
    memory = server.memory_bytes()
    chat = generator.measure(server.port, settings.chat_clients,
                             dataclasses.replace(settings, duration=settings.idle_chat),
                             greeting, CHAT_PAYLOAD)
    record: dict[str, Any] = {
        "idle": count,
        "idle_cpu": (cpu1 - cpu0) / (t1 - t0) if cpu0 is not None and cpu1 is not None
        else None,
        "memory_bytes": memory,
        **{key: chat[key] for key in ("conn_per_s", "p50_ms", "p99_ms", "errors",
                                      "generator_cpu")},
    }
    dropped = idle.closed_by_server()
    if not server.alive():
        record["failed"] = (f"the server exited with status {server.popen.returncode} "
                            f"under chat load: {server.stderr_tail()}")
    elif dropped:
        record["failed"] = f"the server closed {dropped} of the {count} idle connections"
    return record


def _idle_summary(sweeps: list[list[dict[str, Any]]], levels: tuple[int, ...]) -> dict[str, Any]:
    """Medians per level over the sweeps; the cost per idle connection (first
    sweep); the p50 ratio of the most idle level held to none, paired sweep
    by sweep."""
    by_level: dict[str, Any] = {}
    held = []
    for level in levels:
        records = [r for sweep in sweeps for r in sweep if r["idle"] == level]
        if not records:
            continue
        failed = next((r["failed"] for r in records if "failed" in r), None)
        if failed is not None:
            by_level[str(level)] = {"failed": failed}
            continue
        held.append(level)
        by_level[str(level)] = {
            key: stats.median(values) if (values := [r[key] for r in records
                                                      if r.get(key) is not None]) else None
            for key in ("conn_per_s", "p50_ms", "p99_ms", "idle_cpu", "memory_bytes",
                        "generator_cpu")}
    most = max((n for n in held if n), default=None)
    per_connection = p50_ratio = None
    if most is not None and 0 in held:
        # From the first sweep only: a process keeps the memory it once used,
        # so later sweeps start from the first one's peak, not from nothing.
        first = {r["idle"]: r.get("memory_bytes") for r in sweeps[0]}
        low, high = first.get(0), first.get(most)
        if low is not None and high is not None:
            per_connection = (high - low) / most
        pairs: list[tuple[float, float]] = []
        for sweep in sweeps:
            p50: dict[int, float] = {r["idle"]: r["p50_ms"] for r in sweep if r.get("p50_ms")}
            if most in p50 and 0 in p50:
                pairs.append((p50[most], p50[0]))
        if pairs:
            p50_ratio = stats.paired_ratio([a for a, _ in pairs], [b for _, b in pairs])
    return {"levels": by_level, "most_idle_held": most,
            "memory_per_connection": per_connection, "p50_ratio_most_to_none": p50_ratio}


def run_idle(impls: list[Implementation], settings: Settings, generator: Generator,
             progress: Progress) -> dict[str, Any]:
    """Scenario 4: idle connections held against each server in turn.

    One server at a time (10,000 idle connections to each of a dozen servers
    at once would exhaust the machine, not measure it); each is swept from
    no idle connections up, ``settings.idle_rounds`` times.  They are all
    started at once, as in the other scenarios: starting a Python process
    takes longer than a quick sweep of it, and an idle listener costs the
    others nothing.  Each is stopped once swept.
    """
    raise_fd_limit(max(settings.idle_levels) + 1024)
    results: dict[str, Any] = {}
    started = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        servers = [stack.enter_context(Server(impl.name, impl.argv(HOST), workdir))
                   for impl in impls]
        for server in servers:
            server.wait_listening()
        for done, (impl, server) in enumerate(zip(impls, servers, strict=True), 1):
            greeting = len(CONVERSATIONS[impl.like].greeting)
            bound = impl.idle_bound()
            sweeps: list[list[dict[str, Any]]] = []
            for _ in range(settings.idle_rounds):
                # The last sweep's connections must be gone first: a
                # thread or process per connection takes a while to end.
                _wait_accepted_down(server, settings.idle_grow_timeout)
                _settle(server, settings.idle_settle)
                sweep: list[dict[str, Any]] = []
                with IdleConnections(HOST, server.port, greeting) as idle:
                    for level in settings.idle_levels:
                        if bound is not None and level > bound[0]:
                            sweep.append({"idle": level, "failed": bound[1]})
                            break
                        sweep.append(_idle_level(server, idle, level, greeting,
                                                 generator, settings))
                        if "failed" in sweep[-1]:
                            break
                sweeps.append(sweep)
                if not server.alive():
                    break
            server.stop()
            results[impl.name] = {"like": impl.like, "variant": impl.variant,
                                  **_idle_summary(sweeps, settings.idle_levels),
                                  "sweeps": sweeps}
            elapsed = time.monotonic() - started
            progress(f"idle: {impl.name} done ({done}/{len(impls)}), {elapsed:.0f} s so far, "
                     f"about {elapsed / done * (len(impls) - done):.0f} s to go")
    return {"clients": settings.chat_clients, "levels": list(settings.idle_levels),
            "results": results}


def run_syscalls(settings: Settings, progress: Progress) -> dict[str, Any]:
    """Scenario 5: the cost of one wait per mechanism and number of idle descriptors."""
    limit = raise_fd_limit(syscalls.descriptors_needed(max(settings.idle_counts)) + 256)
    counts = [n for n in settings.idle_counts if syscalls.descriptors_needed(n) + 64 <= limit]
    skipped = [n for n in settings.idle_counts if n not in counts]
    samples: dict[str, dict[int, list[float | None]]] = {
        m: {n: [] for n in counts} for m in syscalls.MECHANISMS}
    for number in range(1, settings.rounds + 1):
        for n in counts:
            for mechanism in syscalls.MECHANISMS:
                cost = syscalls.wait_cost(mechanism, n, settings.syscall_seconds)
                samples[mechanism][n].append(None if cost is None else cost * 1e6)
        progress(f"syscalls: round {number}/{settings.rounds} done")
    results: dict[str, dict[str, Any]] = {}
    for mechanism, by_count in samples.items():
        results[mechanism] = {}
        for n, values in by_count.items():
            measured = [v for v in values if v is not None]
            results[mechanism][str(n)] = (
                {**stats.spread(measured), "rounds": measured} if measured
                else {"unavailable": f"a descriptor past FD_SETSIZE ({syscalls.FD_SETSIZE})"})
    return {"unit": "microseconds per call", "idle_counts": counts,
            "skipped_counts": skipped, "fd_limit": limit, "results": results}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(),
                          re.MULTILINE)
        cpu = match[1] if match else cpu
    except OSError:
        pass
    py2 = python2()
    py2_version = None
    if py2:
        done = subprocess.run([py2, "-V"], capture_output=True, timeout=10, check=False)
        py2_version = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
    nginx = nginx_path()
    nginx_version = None
    if nginx:
        done = subprocess.run([nginx, "-v"], capture_output=True, timeout=10, check=False)
        nginx_version = done.stderr.decode("utf-8", "replace").strip()
    return {
        "cpus": os.cpu_count(), "cpu_model": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0], "python2": py2_version,
        "uvloop": uvloop_available(), "nginx": nginx_version,
    }


def available(impls: list[Implementation]) -> tuple[list[Implementation], dict[str, str]]:
    """The implementations that can run here, and why each other one cannot."""
    runnable, skipped = [], {}
    for impl in impls:
        why = impl.missing()
        if why is None:
            runnable.append(impl)
        else:
            skipped[impl.name] = why
    return runnable, skipped


def choose_generator(wanted: str) -> tuple[Path | None, str]:
    """The C generator's binary if it is wanted and can be built, else None;
    and the line the report starts with to say which generator ran."""
    if wanted == "python":
        return None, "load generator: Python (--generator python)"
    try:
        binary = native.build()
    except native.Unavailable as exc:
        return None, (f"load generator: Python, the C one cannot be built ({exc}); "
                      "the fastest servers may be measured at the generator's pace")
    return binary, f"load generator: C ({native.SOURCE.name}, built with {native.compiler()})"


def run(scenarios: list[str], impls: list[Implementation], settings: Settings,
        progress: Progress) -> dict[str, Any]:
    """Every chosen scenario; the whole report as a JSON-ready dict."""
    runnable, skipped = available(impls)
    binary, generator_line = (choose_generator(settings.generator)
                              if scenarios != ["syscalls"] else (None, None))
    result: dict[str, Any] = {
        "schema": report.SCHEMA, "machine": machine(),
        "settings": {"rounds": settings.rounds, "duration_s": settings.duration,
                     "workers": settings.workers, "timeout_s": settings.timeout,
                     "idle_rounds": settings.idle_rounds, "idle_window_s": settings.idle_window,
                     "idle_chat_s": settings.idle_chat},
        "skipped": skipped, "scenarios": {},
    }
    if generator_line is not None:
        result["generator"] = generator_line
    ceiling_scenarios = [s for s in scenarios if s in ("greet", "chat")]
    generator: Generator | None = None
    try:
        for scenario in scenarios:
            if scenario == "syscalls":
                result["scenarios"]["syscalls"] = run_syscalls(settings, progress)
                continue
            chosen = [i for i in runnable if applies(scenario, i)]
            if generator is None:
                generator = Generator(settings.workers, binary)
            if scenario == "idle":
                result["scenarios"]["idle"] = run_idle(chosen, settings, generator, progress)
                continue
            # The ceiling is a greeting server: measured alongside greet, or
            # alongside chat when greet is not run.
            result["scenarios"][scenario] = run_conversations(
                scenario, chosen, settings, generator,
                scenario == next(iter(ceiling_scenarios), None), progress)
    finally:
        if generator is not None:
            generator.close()
    return result

