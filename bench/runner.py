"""The scenarios: servers started once, then measured in alternating rounds.

Every implementation of a scenario runs at once, idle but for the one being
measured, and the rounds go A B C ... A B C ...: whatever else the machine
does slows each of them alike, and round ``i`` of one implementation can be
compared with round ``i`` of its legacy original (see ``stats.paired_ratio``).
"""

from __future__ import annotations

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
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, stats, syscalls
from bench.registry import Implementation, python2
from bench.servers import Server, nginx_path, start_nginx
from compat.loops import uvloop_available
from modern.common import CONVERSATIONS

HOST = "127.0.0.1"

# What each conversation scenario sends after the greeting (chat) or nothing (greet).
CHAT_PAYLOAD = b"x" * 32

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How long and how hard to measure."""

    rounds: int = 5
    duration: float = 3.0         # seconds per implementation per round
    workers: int = max(1, (os.cpu_count() or 2) // 2)  # load generator processes
    timeout: float = 5.0          # a connection unfinished after this is given up
    greet_clients: int = 16
    # Below the originals' listen backlog of 5: a full accept queue drops
    # handshakes for a second and measures the backlog, not the I/O model.
    chat_clients: int = 4
    idle_counts: tuple[int, ...] = (0, 10, 100, 300, 1000, 3000, 10000)
    syscall_seconds: float = 0.1  # per mechanism, N and round

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=2, duration=0.5, timeout=1.5,
                   idle_counts=(0, 100, 1000, 10000), syscall_seconds=0.02)


def applies(scenario: str, impl: Implementation) -> bool:
    """greet needs a server that closes after its greeting; chat one that reads."""
    closes = CONVERSATIONS[impl.like].closes
    return closes if scenario == "greet" else not closes


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted``; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Generator:
    """The load generator's worker processes, started once for the whole run."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        # spawn: the workers must not inherit this process's servers' files.
        self._pool = multiprocessing.get_context("spawn").Pool(workers)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def measure(self, port: int, concurrency: int, settings: Settings,
                greeting: int, payload: bytes) -> dict[str, Any]:
        """One round against ``port``: the figures of every worker, combined."""
        workers = min(self.workers, concurrency)
        shares = [concurrency // workers + (i < concurrency % workers) for i in range(workers)]
        jobs = [loadgen.Job(HOST, port, share, settings.duration, greeting, payload,
                            settings.timeout) for share in shares]
        pending = [self._pool.apply_async(loadgen.run, (job,)) for job in jobs]
        bound = settings.duration + settings.timeout + 30
        results: list[loadgen.WorkerResult] = [p.get(bound) for p in pending]
        latencies = [lat for r in results for lat in r.latencies]
        errors: Counter[str] = Counter()
        for r in results:
            errors.update(r.errors)
        wall = max(r.wall for r in results)
        return {
            "conn_per_s": sum(r.completed for r in results) / settings.duration,
            "completed": sum(r.completed for r in results),
            "late": sum(r.late for r in results),
            "errors": dict(errors),
            "p50_ms": stats.percentile(latencies, 50) * 1000 if latencies else None,
            "p99_ms": stats.percentile(latencies, 99) * 1000 if latencies else None,
            # How busy the generator's processes were while the window was
            # open: near 100% would mean the generator, not the server, was the limit.
            "generator_cpu": sum(r.window_cpu for r in results) / (settings.duration * workers),
            "generator_cpu_seconds": sum(r.cpu for r in results),
            "seconds": wall,
        }


@dataclass
class _Entry:
    label: str
    server: Server
    greeting: int
    payload: bytes
    concurrency: int
    impl: Implementation | None  # None for the ceiling
    dead: str | None = None


def _measure_entry(entry: _Entry, generator: Generator, settings: Settings) -> dict[str, Any]:
    if entry.dead is None and not entry.server.alive():
        entry.dead = f"server exited with status {entry.server.popen.returncode}"
    if entry.dead is not None:
        return {"conn_per_s": 0.0, "failed": entry.dead}
    cpu0 = entry.server.cpu_seconds()
    record = generator.measure(entry.server.port, entry.concurrency, settings,
                               entry.greeting, entry.payload)
    cpu1 = entry.server.cpu_seconds()
    record["server_cpu"] = (cpu1 - cpu0) / record["seconds"] if (
        cpu0 is not None and cpu1 is not None) else None
    if not entry.server.alive():
        entry.dead = (f"server exited with status {entry.server.popen.returncode} "
                      f"in round: {entry.server.stderr_tail()}")
        record["failed"] = entry.dead
    return record


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rounds if "failed" not in r]

    def middle(key: str) -> float | None:
        values = [r[key] for r in ok if r.get(key) is not None]
        return stats.median(values) if values else None

    errors: Counter[str] = Counter()
    for r in ok:
        errors.update(r["errors"])
    failed = next((r["failed"] for r in rounds if "failed" in r), None)
    return {
        "conn_per_s": stats.spread([r["conn_per_s"] for r in rounds]),
        "p50_ms": middle("p50_ms"), "p99_ms": middle("p99_ms"),
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
    """greet or chat for every implementation in ``impls``, plus the ceiling if asked."""
    chat = scenario == "chat"
    concurrency = settings.chat_clients if chat else settings.greet_clients
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
                rounds[entry.label].append(_measure_entry(entry, generator, settings))
            elapsed = time.monotonic() - started
            left = elapsed / number * (settings.rounds - number)
            progress(f"{scenario}: round {number}/{settings.rounds} done, "
                     f"{elapsed:.0f} s so far, about {left:.0f} s to go")
    results: dict[str, Any] = {}
    for entry in entries:
        if entry.impl is None:
            continue
        summary = _summary(rounds[entry.label])
        reference = f"{entry.impl.like}/legacy"
        summary["ratio_to_legacy"] = (
            stats.paired_ratio([r["conn_per_s"] for r in rounds[entry.label]],
                               [r["conn_per_s"] for r in rounds[reference]])
            if reference in rounds else None)
        results[entry.label] = {"like": entry.impl.like, "legacy": entry.impl.legacy,
                                **summary, "rounds": rounds[entry.label]}
    out: dict[str, Any] = {"clients": concurrency, "results": results}
    if with_ceiling:
        out["ceiling"] = {"server": ceiling_name, **_summary(rounds["ceiling"]),
                          "rounds": rounds["ceiling"]}
    return out


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


def run(scenarios: list[str], impls: list[Implementation], settings: Settings,
        progress: Progress) -> dict[str, Any]:
    """Every chosen scenario; the whole report as a JSON-ready dict."""
    runnable, skipped = available(impls)
    report: dict[str, Any] = {
        "schema": 1, "machine": machine(),
        "settings": {"rounds": settings.rounds, "duration_s": settings.duration,
                     "workers": settings.workers, "timeout_s": settings.timeout},
        "skipped": skipped, "scenarios": {},
    }
    conversation_scenarios = [s for s in scenarios if s in ("greet", "chat")]
    generator: Generator | None = None
    try:
        for scenario in scenarios:
            if scenario == "syscalls":
                report["scenarios"]["syscalls"] = run_syscalls(settings, progress)
                continue
            chosen = [i for i in runnable if applies(scenario, i)]
            if generator is None:
                generator = Generator(settings.workers)
            # The ceiling is measured once, alongside the first conversation scenario.
            report["scenarios"][scenario] = run_conversations(
                scenario, chosen, settings, generator,
                scenario == conversation_scenarios[0], progress)
    finally:
        if generator is not None:
            generator.close()
    return report

