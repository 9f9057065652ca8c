"""The report: the verdict on each target, the terminal tables and the JSON file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sockbench.registry import NOT_PORTS

# The layout of the JSON report; a report of another layout cannot be replayed.
SCHEMA = 2

# The benchmark's targets.
PORT_VS_LEGACY = 1.0     # every modern server's connections/s over its original's
UVLOOP_VS_NGINX = 0.85   # asyncio_server on uvloop over the nginx ceiling, greet
IDLE_MOST = 10_000       # idle connections at which epoll servers' chat p50 is judged
IDLE_P50_RATIO = 1.5     # ... against their p50 with none
IDLE_CPU_AT = 1_000      # idle connections at which idle CPU is judged
IDLE_CPU = 0.01          # ... as a share of one CPU
# A round in which the generator's CPU (all its processes) is not below this
# share of the server's is flagged: the two share the machine's CPUs, and a
# generator busy as long as the server may have set the pace itself.
HEADROOM = 0.75


def targets(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each target: met, missed or not measured, with the figures that decide it."""
    verdicts = []
    scenarios = report["scenarios"]
    for scenario in ("greet", "chat"):
        if scenario not in scenarios:
            continue
        misses, compared = [], 0
        for name, result in scenarios[scenario]["results"].items():
            # A thread or a process per connection speaking v4_select's
            # conversation is a model to compare, not a port of it; the
            # Protocol server is a reference for asyncio_server's streams.
            if result["legacy"] or name.rsplit("/", 1)[-1] in NOT_PORTS:
                continue
            ratio = result["ratio_to_legacy"]
            if ratio is None:
                continue
            compared += 1
            if ratio < PORT_VS_LEGACY:
                misses.append(f"{name} {ratio:.2f}x")
        target = (f"{scenario}: every modern server >= {PORT_VS_LEGACY:.1f}x its original's "
                  "conn/s (thread and process per connection aside)")
        if not compared:
            verdicts.append(_verdict(target, "not measured", "no legacy original in this run"))
        elif misses:
            verdicts.append(_verdict(target, "missed", ", ".join(misses)))
        else:
            verdicts.append(_verdict(target, "met", f"{compared} compared"))
    greet = scenarios.get("greet")
    target = f"greet: asyncio_server on uvloop >= {UVLOOP_VS_NGINX}x the nginx ceiling"
    if greet is None or "ceiling" not in greet:
        verdicts.append(_verdict(target, "not measured", "greet was not run"))
    else:
        ceiling = greet["ceiling"]["conn_per_s"]["median"]
        uv = {n: r for n, r in greet["results"].items() if n.endswith("/uvloop")}
        # The Protocol reference on uvloop is shown beside, not judged.
        shown = {**uv, **{n: r for n, r in greet["results"].items()
                          if n.endswith("/uvloop-protocol")}}
        figures = ", ".join(f"{n} {r['conn_per_s']['median'] / ceiling:.2f}x"
                            for n, r in shown.items()) if ceiling else ""
        if not uv or not ceiling:
            verdicts.append(_verdict(target, "not measured", "no uvloop server or no ceiling"))
        elif not greet["ceiling"]["server"].startswith("nginx"):
            verdicts.append(_verdict(target, "not measured",
                                     f"nginx not installed; against {greet['ceiling']['server']}"
                                     f": {figures}"))
        else:
            low = [n for n, r in uv.items()
                   if r["conn_per_s"]["median"] < UVLOOP_VS_NGINX * ceiling]
            verdicts.append(_verdict(target, "missed" if low else "met", figures))
    verdicts += _idle_targets(scenarios.get("idle"))
    return verdicts


# What each implementation demonstrates, for the idle-scaling targets.
MODELS = {"threading": "threading", "forking": "forking", "selectors": "selectors (epoll)",
          "asyncio": "asyncio (epoll)", "uvloop": "uvloop (epoll)"}
PORT_MODELS = {"v4_select": "select", "v4_poll": "poll"}
EPOLL = ("selectors", "asyncio", "uvloop")
MULTIPLEXING = ("port", *EPOLL)


def model(name: str, result: dict[str, Any]) -> str:
    """The I/O model an idle-scaling result demonstrates, e.g. ``poll (original)``."""
    variant, like = result["variant"], result["like"]
    if variant in ("port", "legacy"):
        return PORT_MODELS[like] + (" (original)" if variant == "legacy" else "")
    return MODELS.get(variant, name)


def _idle_targets(idle: dict[str, Any] | None) -> list[dict[str, str]]:
    names = (f"idle scaling: epoll servers' chat p50 at {IDLE_MOST:,} idle within "
             f"{IDLE_P50_RATIO}x of at 0",
             f"idle scaling: idle CPU < {IDLE_CPU:.0%} for modern multiplexing servers at "
             f"{IDLE_CPU_AT:,} idle",
             "idle scaling: memory per idle connection for every model")
    if idle is None:
        return [_verdict(name, "not measured", "idle was not run") for name in names]
    results = idle["results"]
    verdicts = []
    epoll = {n: r for n, r in results.items() if r["variant"] in EPOLL}
    misses = []
    for n, r in epoll.items():
        ratio = r["p50_ratio_most_to_none"]
        if r["most_idle_held"] != IDLE_MOST:
            misses.append(f"{n} held only {r['most_idle_held'] or 0:,}")
        elif ratio is None or ratio > IDLE_P50_RATIO:
            misses.append(f"{n} {_ratio(ratio)}")
    figures = ", ".join(f"{n} {_ratio(r['p50_ratio_most_to_none'])}" for n, r in epoll.items())
    if IDLE_MOST not in idle["levels"]:
        verdicts.append(_verdict(names[0], "not measured",
                                 f"this run held at most {max(idle['levels']):,}"))
    else:
        verdicts.append(_verdict(names[0], "not measured" if not epoll else
                                 "missed" if misses else "met",
                                 "; ".join(misses) if misses else figures or "no epoll server"))
    multiplexing = {n: r for n, r in results.items() if r["variant"] in MULTIPLEXING}
    misses, figures_cpu = [], []
    for n, r in multiplexing.items():
        cpu = r["levels"].get(str(IDLE_CPU_AT), {}).get("idle_cpu")
        figures_cpu.append(f"{n} {_percent(cpu, 1)}")
        if cpu is None or cpu >= IDLE_CPU:
            misses.append(f"{n} {_percent(cpu, 1) if cpu is not None else 'not measured'}")
    verdicts.append(_verdict(names[1], "not measured" if not multiplexing else
                             "missed" if misses else "met",
                             ", ".join(misses or figures_cpu) or "no multiplexing server"))
    measured = {model(n, r) for n, r in results.items()
                if memory_per_connection(r) is not None and "original" not in model(n, r)}
    wanted = {"threading", "forking", "select", "poll", *(MODELS[v] for v in EPOLL)}
    missing = sorted(wanted - measured)
    verdicts.append(_verdict(names[2], "missed" if missing else "met",
                             f"no figure for {', '.join(missing)}" if missing
                             else f"{len(measured)} models"))
    return verdicts


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict(target: str, status: str, detail: str) -> dict[str, str]:
    return {"target": target, "status": status, "detail": detail}


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _errors(result: dict[str, Any]) -> str:
    if result.get("failed"):
        return "FAILED"
    return ", ".join(f"{k} {v}" for k, v in sorted(result["errors"].items())) or "-"


def conversation_table(scenario: str, data: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    stream = scenario == "stream"
    what = "persistent connections" if stream else "concurrent clients"
    lines = [f"{scenario}: {data['clients']} {what}, {settings['rounds']} rounds "
             f"of {settings['duration_s']:g} s, {settings['workers']} generator process(es)"]
    if stream:
        lines.append("  (32-byte messages, 2,048 per send; counted once the server has "
                     "read them all and closed)")
    rate = "msg_per_s" if stream else "conn_per_s"
    header = ["implementation", "msg/s" if stream else "conn/s", "min-max", "x legacy",
              *(["MB/s"] if stream else ["p50 ms", "p99 ms"]), "gen CPU", "srv CPU", "errors"]
    items = list(data["results"].items())
    if "ceiling" in data:
        items.append((f"ceiling: {data['ceiling']['server']}", data["ceiling"]))
    by_round = judged_by_round(items)
    if by_round:
        header.insert(-1, "gen/srv CPU by round")
    rows = []
    for name, r in items:
        spread = r[rate]
        ratio = r.get("ratio_to_legacy")
        middle = ([_number(r["mb_per_s"], 1)] if stream
                  else [_number(r["p50_ms"], 2), _number(r["p99_ms"], 2)])
        rows.append([name, _number(spread["median"]),
                     f"{_number(spread['min'])}-{_number(spread['max'])}",
                     "-" if ratio is None else f"{ratio:.2f}", *middle,
                     _percent(r["generator_cpu"]), _percent(r["server_cpu"]),
                     *([_by_round(r["rounds"])] if by_round else []), _errors(r)])
    lines += _table(header, rows)
    if "ceiling" in data:
        c = data["ceiling"]
        server = f", server CPU {_percent(c['server_cpu'])}" if by_round else ""
        lines.append(f"generator ceiling: {_number(c['conn_per_s']['median'])} conn/s against "
                     f"{c['server']}, generator CPU {_percent(c['generator_cpu'])}{server}")
    if by_round:
        flagged = sum(bool(rd.get("generator_bound")) for _, r in items for rd in r["rounds"])
        lines.append(f"gen/srv CPU by round: the generator's CPU (all its processes) and the "
                     f"server's; ! marks a round where the generator's was not below "
                     f"{HEADROOM:.0%} of the server's ({flagged} round(s) here): its rate may "
                     "be the generator's")
    shared = [(name, r) for name, r in items if "ratio_to_one_process" in r]
    if shared:
        lines.append("the servers' --workers N: N processes sharing the port over the same "
                     "server in one, round by round: " + ", ".join(
                         f"{name} ({r['processes']}) {_ratio(r['ratio_to_one_process'])}"
                         for name, r in shared))
    return lines


def judged_by_round(items: list[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the rounds of these results carry the generator's headroom
    verdict (``generator_bound``): reports written before it was judged per
    round have none, and replay as they were printed."""
    return any("generator_bound" in rd for _, r in items for rd in r["rounds"])


def _by_round(rounds: list[dict[str, Any]]) -> str:
    """Each round's generator and server CPU shares, e.g. ``24/91 80/85!``."""
    cells = []
    for rd in rounds:
        if "failed" in rd or rd.get("generator_cpu") is None or rd.get("server_cpu") is None:
            cells.append("-")
            continue
        gen = rd["generator_cpu"] * rd.get("generator_processes", 1)
        cells.append(f"{gen * 100:.0f}/{rd['server_cpu'] * 100:.0f}"
                     + ("!" if rd.get("generator_bound") else ""))
    return " ".join(cells)


# Below this many idle connections, what they cost is lost in the pages the
# process maps anyway: v4_poll's original, which dies past 10, shows 0.0 KiB.
MEMORY_MIN_HELD = 100


def memory_per_connection(result: dict[str, Any]) -> float | None:
    """Bytes per idle connection, or None where too few were held to tell."""
    held = result.get("most_idle_held")
    if held is None or held < MEMORY_MIN_HELD:
        return None
    value: float | None = result["memory_per_connection"]
    return value


def _kib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1024:,.1f}"


def idle_tables(data: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    levels = [str(n) for n in data["levels"]]
    heading = [f"{int(n):,}" for n in levels]
    lines = [f"idle: chat with {data['clients']} clients while N idle connections are held, "
             f"{settings['idle_rounds']} sweep(s); chat p50 / p99 ms by N"]
    rows, cpu_rows, failures = [], [], []
    for name, r in data["results"].items():
        cells, cpu_cells = [], []
        for level in levels:
            cell = r["levels"].get(level)
            if cell is None:
                cells.append("")
                cpu_cells.append("")
            elif "failed" in cell:
                cells.append("not held")
                cpu_cells.append("not held")
                failures.append(f"  {name} at {int(level):,}: {cell['failed']}")
            else:
                cells.append(f"{_number(cell['p50_ms'], 2)} / {_number(cell['p99_ms'], 2)}")
                cpu_cells.append(_percent(cell["idle_cpu"], 1))
        ratio = r["p50_ratio_most_to_none"]
        rows.append([name, *cells, "-" if ratio is None else
                     f"{ratio:.2f} at {r['most_idle_held']:,}"])
        cpu_rows.append([name, model(name, r), *cpu_cells, _kib(memory_per_connection(r))])
    lines += _table(["implementation", *heading, "p50 x none"], rows)
    lines += ["", "idle: server CPU while nothing happens (share of one CPU) by N, "
                  "and memory per idle connection"]
    lines += _table(["implementation", "model", *heading, "KiB/conn"], cpu_rows)
    if failures:
        lines += ["not held:", *failures]
    return lines


def syscall_table(data: dict[str, Any]) -> list[str]:
    mechanisms = list(data["results"])
    lines = ["syscalls: microseconds per zero-timeout wait, one ready among N idle "
             "(median, min-max)"]
    rows = []
    for n in data["idle_counts"]:
        row = [f"{n:,}"]
        for m in mechanisms:
            cell = data["results"][m][str(n)]
            row.append("beyond FD_SETSIZE" if "unavailable" in cell else
                       f"{cell['median']:.2f} ({cell['min']:.2f}-{cell['max']:.2f})")
        rows.append(row)
    lines += _table(["N idle", *mechanisms], rows)
    if data["skipped_counts"]:
        lines.append(f"not measured (descriptor limit {data['fd_limit']}): "
                     + ", ".join(f"{n:,}" for n in data["skipped_counts"]))
    return lines


def sections(report: dict[str, Any]) -> dict[str, list[str]]:
    """The report's parts by name (machine, each scenario, models, targets), as
    the terminal shows them; docs/performance.md and docs/io-models.md embed
    them from the run in docs/perf/, and a test holds them to it."""
    m = report["machine"]
    parts = {"machine": [
        *([report["generator"]] if "generator" in report else []),
        f"machine: {m['cpus']} CPUs, {m['cpu_model']}, {m['kernel']}, Python {m['python']}, "
        f"{m['python2'] or 'no Python 2.7'}, nginx: {m['nginx'] or 'not found'}",
        *(f"skipped {name}: {why}" for name, why in report["skipped"].items())]}
    for scenario, data in report["scenarios"].items():
        if scenario == "syscalls":
            parts[scenario] = syscall_table(data)
        elif scenario == "idle":
            parts[scenario] = idle_tables(data, report["settings"])
        else:
            parts[scenario] = conversation_table(scenario, data, report["settings"])
    if "idle" in report["scenarios"]:
        parts["models"] = model_costs(report)
    parts["targets"] = ["targets:", *(
        f"  {v['status'].upper():12} {v['target']}: {v['detail']}" for v in report["targets"])]
    return parts


def text(report: dict[str, Any]) -> str:
    """The whole report as the terminal shows it, summary last."""
    return "\n\n".join("\n".join(lines) for name, lines in sections(report).items()
                       if name != "models")


def model_costs(report: dict[str, Any]) -> list[str]:
    """One line per I/O model from the idle scenario: what a connection costs,
    idle and active, and (with syscalls) what one wait costs."""
    idle = report["scenarios"]["idle"]
    waits = report["scenarios"].get("syscalls", {}).get("results", {})

    def wait(mechanism: str, n: int) -> str:
        cell = waits.get(mechanism, {}).get(str(n))
        if cell is None:
            return "-"
        return "beyond FD_SETSIZE" if "unavailable" in cell else f"{cell['median']:.2f}"

    def p50(r: dict[str, Any], n: int) -> str:
        cell = r["levels"].get(str(n))
        if cell is None:
            return "-"
        return "not held" if "failed" in cell else _number(cell["p50_ms"], 2)

    def idle_cpu(r: dict[str, Any]) -> str:
        # At 1,000 idle, or at the most this server held below that.
        held = [int(n) for n, cell in r["levels"].items()
                if "failed" not in cell and 0 < int(n) <= IDLE_CPU_AT]
        if not held:
            return "-"
        cpu = r["levels"][str(max(held))]["idle_cpu"]
        at = "" if max(held) == IDLE_CPU_AT else f" (at {max(held):,})"
        return "-" if cpu is None else _percent(cpu, 1) + at

    header = ["model", "server", "chat p50 ms, 0 idle", "1,000 idle", "10,000 idle",
              f"idle CPU at {IDLE_CPU_AT:,}", "KiB per idle conn",
              f"one wait, {IDLE_CPU_AT:,} fds, µs"]
    rows = []
    for name, r in idle["results"].items():
        kind = model(name, r)
        # The wait its loop makes; a thread or a process per connection has none.
        mechanism = ("epoll" if r["variant"] in EPOLL else
                     PORT_MODELS[r["like"]] if r["variant"] in ("port", "legacy") else None)
        rows.append([kind, name, p50(r, 0), p50(r, 1000), p50(r, 10000), idle_cpu(r),
                     _kib(memory_per_connection(r)),
                     wait(mechanism, 1000) if mechanism else "(blocks in recv)"])
    return _table(header, rows)


# A Markdown page embeds a part of the report as a fenced block right after
# this marker; tests/test_docs.py holds the block to the committed run.
EMBED_MARKER = re.compile(r"<!-- bench: (\S+) -->")
_FENCE = re.compile(r"( *)(`{3,})\S*")


def embed(page: str, parts: dict[str, list[str]]) -> tuple[str, int]:
    """``page`` with the block after each ``<!-- bench: PART -->`` marker made
    ``parts[PART]``, and how many blocks that changed; ``ValueError`` naming
    the line of a marker with no block after it or a part the report lacks."""
    lines = page.split("\n")
    out: list[str] = []
    changed = i = 0
    while i < len(lines):
        out.append(lines[i])
        marker = EMBED_MARKER.fullmatch(lines[i].strip())
        i += 1
        if marker is None:
            continue
        fence = _FENCE.fullmatch(lines[i]) if i < len(lines) else None
        close = fence[1] + fence[2] if fence else None
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == close), None)
        if fence is None or end is None:
            raise ValueError(f"line {i}: no fenced block after the marker")
        if marker[1] not in parts:
            raise ValueError(f"line {i}: the report has no part {marker[1]!r}")
        body = [fence[1] + text if text else text for text in parts[marker[1]]]
        changed += lines[i + 1:end] != body
        out += [lines[i], *body, lines[end]]
        i = end + 1
    return "\n".join(out), changed


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")
