"""PNG charts of a report: one per scenario, two for idle scaling.

matplotlib is imported here only, so the benchmark runs without it; it comes
with the ``bench`` extra (``pip install -e '.[bench]'``).  The Agg backend
draws to files with no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: files, no display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sockbench.report import model
from sockbench.syscalls import FD_SETSIZE

UNITS = {"greet": ("conn_per_s", "connections per second"),
         "chat": ("conn_per_s", "connections per second"),
         "stream": ("msg_per_s", "32-byte messages per second")}


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def conversation(scenario: str, data: dict[str, Any], path: Path) -> Path:
    """Median rate per implementation, min-max as error bars, legacy in grey."""
    key, unit = UNITS[scenario]
    items = list(data["results"].items())
    if "ceiling" in data:
        items.append((f"ceiling: {data['ceiling']['server']}", data["ceiling"]))
    names = [name for name, _ in items]
    medians = [r[key]["median"] for _, r in items]
    low = [r[key]["median"] - r[key]["min"] for _, r in items]
    high = [r[key]["max"] - r[key]["median"] for _, r in items]
    colours = ["tab:grey" if r.get("legacy") else "tab:red" if name.startswith("ceiling")
               else "tab:blue" for name, r in items]
    figure, axes = plt.subplots(figsize=(9, 0.32 * len(items) + 1.4))
    positions = range(len(items))
    axes.barh(positions, medians, xerr=[low, high], color=colours, capsize=2)
    axes.set_yticks(list(positions), names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"{unit} (median, min-max over rounds)")
    axes.set_title(f"{scenario}: legacy originals grey, Python 3 servers blue")
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def syscalls(data: dict[str, Any], path: Path) -> Path:
    """Microseconds per wait against idle descriptors, log-log: the article's answer."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for mechanism, by_count in data["results"].items():
        points = [(n, by_count[str(n)]["median"]) for n in data["idle_counts"]
                  if "median" in by_count[str(n)]]
        axes.plot([max(n, 1) for n, _ in points], [v for _, v in points], marker="o",
                  label=mechanism)
    axes.axvline(FD_SETSIZE, color="grey", linestyle="--", linewidth=1)
    axes.annotate("FD_SETSIZE: select stops", (FD_SETSIZE, axes.get_ylim()[1]),
                  rotation=90, va="top", ha="right", fontsize=8, color="grey")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("idle descriptors watched (one more is ready; 0 drawn at 1)")
    axes.set_ylabel("microseconds per zero-timeout wait")
    axes.set_title("The cost of one wait: select and poll grow, epoll does not")
    axes.grid(which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def idle_latency(data: dict[str, Any], path: Path) -> Path:
    """Chat p50 against idle connections held, one line per implementation."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for name, r in data["results"].items():
        points = [(int(n), cell["p50_ms"]) for n, cell in r["levels"].items()
                  if "failed" not in cell and cell["p50_ms"] is not None]
        if points:
            axes.plot([max(n, 1) for n, _ in points], [v for _, v in points], marker="o",
                      label=f"{name} ({model(name, r)})",
                      linestyle="--" if r["variant"] == "legacy" else "-")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("idle connections held (0 drawn at 1)")
    axes.set_ylabel("chat latency p50, ms")
    axes.set_title("What idle connections cost every other client")
    axes.grid(which="both", alpha=0.3)
    axes.legend(fontsize=7)
    return _save(figure, path)


def idle_memory(data: dict[str, Any], path: Path) -> Path:
    """KiB of server memory per idle connection, one bar per implementation."""
    items = [(name, r) for name, r in data["results"].items()
             if r["memory_per_connection"] is not None]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(items) + 1.4))
    positions = range(len(items))
    axes.barh(positions, [r["memory_per_connection"] / 1024 for _, r in items],
              color=["tab:grey" if r["variant"] == "legacy" else "tab:blue" for _, r in items])
    axes.set_yticks(list(positions),
                    [f"{name} ({model(name, r)}, at {r['most_idle_held']:,})"
                     for name, r in items], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("KiB of server memory (PSS) per idle connection, log scale")
    axes.set_title("Memory per idle connection, by I/O model")
    axes.grid(axis="x", which="both", alpha=0.3)
    return _save(figure, path)


def charts(report: dict[str, Any], directory: Path) -> list[Path]:
    """Every chart the report has data for, written into ``directory``."""
    written = []
    for scenario, data in report["scenarios"].items():
        if scenario == "syscalls":
            written.append(syscalls(data, directory / "syscalls.png"))
        elif scenario == "idle":
            written.append(idle_latency(data, directory / "idle-latency.png"))
            written.append(idle_memory(data, directory / "idle-memory.png"))
        else:
            written.append(conversation(scenario, data, directory / f"{scenario}.png"))
    return written
