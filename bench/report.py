"""The report: the verdict on each target, the terminal tables and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The targets for the figures measured so far.
PORT_VS_LEGACY = 1.0     # every modern server's connections/s over its original's
UVLOOP_VS_NGINX = 0.85   # asyncio_server on uvloop over the nginx ceiling, greet


def targets(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each target: met, missed or not measured, with the figures that decide it."""
    verdicts = []
    scenarios = report["scenarios"]
    for scenario in ("greet", "chat"):
        if scenario not in scenarios:
            continue
        misses, compared = [], 0
        for name, result in scenarios[scenario]["results"].items():
            if result["legacy"]:
                continue
            ratio = result["ratio_to_legacy"]
            if ratio is None:
                continue
            compared += 1
            if ratio < PORT_VS_LEGACY:
                misses.append(f"{name} {ratio:.2f}x")
        target = f"{scenario}: every modern server >= {PORT_VS_LEGACY:.1f}x its original's conn/s"
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
        figures = ", ".join(f"{n} {r['conn_per_s']['median'] / ceiling:.2f}x"
                            for n, r in uv.items()) if ceiling else ""
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
    for target in ("idle scaling: epoll servers' chat p50 at 10,000 idle within 1.5x of at 0",
                   "idle scaling: idle CPU < 1% for modern multiplexing servers at 1,000 idle",
                   "idle scaling: memory per idle connection for every model"):
        verdicts.append(_verdict(target, "not measured", "idle scaling is not implemented yet"))
    return verdicts


def _verdict(target: str, status: str, detail: str) -> dict[str, str]:
    return {"target": target, "status": status, "detail": detail}


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


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
    lines = [f"{scenario}: {data['clients']} concurrent clients, {settings['rounds']} rounds "
             f"of {settings['duration_s']:g} s, {settings['workers']} generator process(es)"]
    header = ["implementation", "conn/s", "min-max", "x legacy", "p50 ms", "p99 ms",
              "gen CPU", "srv CPU", "errors"]
    rows = []
    items = list(data["results"].items())
    if "ceiling" in data:
        items.append((f"ceiling: {data['ceiling']['server']}", data["ceiling"]))
    for name, r in items:
        spread = r["conn_per_s"]
        ratio = r.get("ratio_to_legacy")
        rows.append([name, _number(spread["median"]),
                     f"{_number(spread['min'])}-{_number(spread['max'])}",
                     "-" if ratio is None else f"{ratio:.2f}",
                     _number(r["p50_ms"], 2), _number(r["p99_ms"], 2),
                     _percent(r["generator_cpu"]), _percent(r["server_cpu"]), _errors(r)])
    lines += _table(header, rows)
    if "ceiling" in data:
        c = data["ceiling"]
        lines.append(f"generator ceiling: {_number(c['conn_per_s']['median'])} conn/s against "
                     f"{c['server']}, generator CPU {_percent(c['generator_cpu'])}")
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


def text(report: dict[str, Any]) -> str:
    """The whole report as the terminal shows it, summary last."""
    m = report["machine"]
    lines = [f"machine: {m['cpus']} CPUs, {m['cpu_model']}, {m['kernel']}, Python {m['python']}, "
             f"{m['python2'] or 'no Python 2.7'}, nginx: {m['nginx'] or 'not found'}"]
    for name, why in report["skipped"].items():
        lines.append(f"skipped {name}: {why}")
    for scenario, data in report["scenarios"].items():
        lines.append("")
        if scenario == "syscalls":
            lines += syscall_table(data)
        else:
            lines += conversation_table(scenario, data, report["settings"])
    lines += ["", "targets:"]
    for verdict in report["targets"]:
        lines.append(f"  {verdict['status'].upper():12} {verdict['target']}: {verdict['detail']}")
    return "\n".join(lines)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")
