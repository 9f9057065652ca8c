"""PNG charts of a report: one per scenario, two for idle scaling.

matplotlib is imported here only, so the benchmark runs without it; it comes
with the ``bench`` extra (``pip install -e '.[bench]'``).  The Agg backend
draws to files with no display.  :func:`figures` builds every chart and
:func:`charts` saves them, so that what a reader will see can be inspected
before it becomes pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: files, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from sockbench.report import HEADROOM, judged_by_round, memory_per_connection, model
from sockbench.runner import CHAT_PAYLOAD
from sockbench.syscalls import FD_SETSIZE

# From this share of its CPU the load generator, not the server, sets the pace:
# such a rate is the generator's limit, a lower bound of the server's.  Only
# for reports whose rounds carry no verdict of their own (``generator_bound``,
# the report's ``!``); otherwise a bar is hatched when half its rounds or more
# were marked.
GENERATOR_BOUND = 0.92

LEGACY, PYTHON3, CEILING = "tab:grey", "tab:blue", "tab:red"
LOWER_BOUND_HATCH = "///"

# One colour and marker per kind of server, one line style per conversation: no
# two idle-latency lines look alike (matplotlib's cycle has ten colours, the
# chart twelve lines).
VARIANT_STYLES = {"legacy": (LEGACY, "o"), "port": (PYTHON3, "s"),
                  "selectors": ("tab:green", "^"), "asyncio": ("tab:orange", "v"),
                  "uvloop": ("tab:purple", "D"), "threading": ("tab:brown", "P"),
                  "forking": ("tab:pink", "X")}
CONVERSATION_STYLES = {"v4_select": "-", "v4_poll": "--"}

UNITS = {"greet": "connections per second",
         "chat": "connections per second",
         "stream": "MB/s taken in (10⁶ bytes; 32-byte messages)"}


def _legend_outside(axes: Axes, handles: list[Any] | None = None) -> None:
    # Beside the plot, never over it: a legend inside hides the lines under it.
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                borderaxespad=0.0, fontsize=7)


def _rates(scenario: str, result: dict[str, Any]) -> tuple[float, float, float]:
    """Median, min and max of a result's rate, in the chart's unit."""
    if scenario == "stream":
        rates, scale = result["msg_per_s"], len(CHAT_PAYLOAD) / 1e6
    else:
        rates, scale = result["conn_per_s"], 1.0
    return rates["median"] * scale, rates["min"] * scale, rates["max"] * scale


def generator_limited(result: dict[str, Any]) -> bool:
    """Whether a row's rate is drawn as the generator's: half its rounds or
    more marked generator-bound, or, in a report without those marks, the
    generator at :data:`GENERATOR_BOUND` of its CPU or more."""
    marks = [rd["generator_bound"] for rd in result["rounds"] if "generator_bound" in rd]
    if not marks:
        return bool(result["generator_cpu"] >= GENERATOR_BOUND)
    return 2 * sum(bool(mark) for mark in marks) >= len(marks)


def conversation(scenario: str, data: dict[str, Any]) -> Figure:
    """Median rate per implementation, min-max as error bars; the generator's
    limit hatched as a lower bound."""
    items = list(data["results"].items())
    if "ceiling" in data:
        items.append((f"ceiling: {data['ceiling']['server']}", data["ceiling"]))
    rates = [_rates(scenario, r) for _, r in items]
    colours = [LEGACY if r.get("legacy") else CEILING if name.startswith("ceiling")
               else PYTHON3 for name, r in items]
    bound = [generator_limited(r) for _, r in items]
    figure, axes = plt.subplots(figsize=(10, 0.32 * len(items) + 1.8))
    positions = range(len(items))
    bars = axes.barh(positions, [median for median, _, _ in rates],
                     xerr=[[median - low for median, low, _ in rates],
                           [high - median for median, _, high in rates]],
                     color=colours, capsize=2, edgecolor="black", linewidth=0.3)
    for bar, lower_bound in zip(bars, bound, strict=True):
        if lower_bound:
            bar.set_hatch(LOWER_BOUND_HATCH)
    axes.set_yticks(list(positions), [name for name, _ in items], fontsize=8)
    axes.invert_yaxis()
    title = f"{scenario}: median over rounds, min-max as error bars"
    if scenario == "stream":
        axes.set_xscale("log")
        spread = max((r["msg_per_s"]["max"] / r["msg_per_s"]["min"] for _, r in items
                      if r["msg_per_s"]["min"]), default=1.0)
        axes.set_xlabel(f"{UNITS[scenario]}, log scale")
        title += (f"\nrounds spread up to {spread:.1f}x: the order among the Python 3 "
                  "servers is within that noise")
    else:
        axes.set_xlabel(UNITS[scenario])
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", which="both", alpha=0.3)
    handles: list[Any] = [Patch(facecolor=LEGACY, label="legacy original (Python 2.7)"),
                          Patch(facecolor=PYTHON3, label="Python 3 server")]
    if "ceiling" in data:
        handles.append(Patch(facecolor=CEILING,
                             label=f"ceiling: {data['ceiling']['server']}, a C server"))
    verdicts = judged_by_round(items)
    handles.append(Patch(facecolor="white", edgecolor="black", hatch=LOWER_BOUND_HATCH,
                         label=(f"rounds marked ! (generator's CPU >= {HEADROOM:.0%}\n"
                                "of the server's): "
                                "maybe its limit, a lower bound" if verdicts else
                                f"load generator at >= {GENERATOR_BOUND:.0%} CPU:\n"
                                "its limit, a lower bound")))
    _legend_outside(axes, handles)
    return figure


def syscalls(data: dict[str, Any]) -> Figure:
    """Microseconds per wait against idle descriptors, log-log: the article's answer."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for mechanism, by_count in data["results"].items():
        points = [(n, by_count[str(n)]["median"]) for n in data["idle_counts"]
                  if "median" in by_count[str(n)]]
        axes.plot([max(n, 1) for n, _ in points], [v for _, v in points], marker="o",
                  label=mechanism)
    axes.axvline(FD_SETSIZE, color="grey", linestyle=":", linewidth=1)
    # Right of the line, halfway up: below poll's line and above epoll's.
    axes.text(FD_SETSIZE * 1.1, 0.4, f"FD_SETSIZE ({FD_SETSIZE}):\nselect stops",
              transform=blended_transform_factory(axes.transData, axes.transAxes),
              ha="left", va="center", fontsize=8, color="grey")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("idle descriptors watched, log scale (one more is ready; 0 drawn at 1)")
    axes.set_ylabel("microseconds per zero-timeout wait, log scale")
    axes.set_title("The cost of one wait: select and poll grow, epoll does not")
    axes.grid(which="both", alpha=0.3)
    _legend_outside(axes)
    return figure


def idle_latency(data: dict[str, Any]) -> Figure:
    """Chat p50 against idle connections held, one line per implementation; a
    line that stops because the next level was not held ends in a cross."""
    figure, axes = plt.subplots(figsize=(9, 5))
    ended = False
    for name, r in data["results"].items():
        levels = sorted(r["levels"].items(), key=lambda level: int(level[0]))
        points = [(int(n), cell["p50_ms"]) for n, cell in levels
                  if "failed" not in cell and cell["p50_ms"] is not None]
        if not points:
            continue
        colour, marker = VARIANT_STYLES[r["variant"]]
        xs, ys = [max(n, 1) for n, _ in points], [v for _, v in points]
        axes.plot(xs, ys, color=colour, marker=marker, markersize=4,
                  linestyle=CONVERSATION_STYLES[r["like"]], label=f"{name}: {model(name, r)}")
        if any("failed" in cell for _, cell in levels):
            ended = True
            axes.plot(xs[-1:], ys[-1:], color=colour, marker="x", markersize=12,
                      markeredgewidth=2, linestyle="none")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("idle connections held, log scale (0 drawn at 1)")
    axes.set_ylabel("chat latency p50, ms, log scale")
    axes.set_title("What idle connections cost every other client")
    axes.grid(which="both", alpha=0.3)
    handles, _ = axes.get_legend_handles_labels()
    if ended:
        handles.append(Line2D([], [], color="black", marker="x", markersize=8,
                              markeredgewidth=2, linestyle="none",
                              label="the next level was not held"))
    _legend_outside(axes, handles)
    return figure


def idle_memory(data: dict[str, Any]) -> Figure:
    """KiB of server memory per idle connection, a dot per implementation; n/a
    where the server held too few connections to measure."""
    items = list(data["results"].items())
    figure, axes = plt.subplots(figsize=(9, 0.32 * len(items) + 1.6))
    measured = [(i, per / 1024) for i, (_, r) in enumerate(items)
                if (per := memory_per_connection(r)) is not None]
    for i, kib in measured:
        axes.plot([kib], [i], marker="o", linestyle="none",
                  color=LEGACY if items[i][1]["variant"] == "legacy" else PYTHON3)
    at_left = blended_transform_factory(axes.transAxes, axes.transData)
    for i in sorted(set(range(len(items))) - {i for i, _ in measured}):
        axes.text(0.01, i, "n/a", transform=at_left, va="center", fontsize=8)
    axes.set_yticks(list(range(len(items))),
                    [f"{name}: {model(name, r)}, {r['most_idle_held']:,} held"
                     for name, r in items], fontsize=8)
    axes.set_ylim(len(items) - 0.5, -0.5)
    axes.set_xscale("log")
    axes.set_xlabel("KiB of server memory (PSS) per idle connection, log scale")
    axes.set_title("Memory per idle connection, by I/O model")
    axes.grid(axis="x", which="both", alpha=0.3)
    _legend_outside(axes, [Line2D([], [], color=colour, label=label, marker="o",
                                  linestyle="none")
                           for colour, label in ((LEGACY, "legacy original (Python 2.7)"),
                                                 (PYTHON3, "Python 3 server"))])
    return figure


def figures(report: dict[str, Any]) -> dict[str, Figure]:
    """Every chart the report has data for, by file name."""
    drawn = {}
    for scenario, data in report["scenarios"].items():
        if scenario == "syscalls":
            drawn["syscalls.png"] = syscalls(data)
        elif scenario == "idle":
            drawn["idle-latency.png"] = idle_latency(data)
            drawn["idle-memory.png"] = idle_memory(data)
        else:
            drawn[f"{scenario}.png"] = conversation(scenario, data)
    return drawn


def charts(report: dict[str, Any], directory: Path) -> list[Path]:
    """Every chart the report has data for, written into ``directory``."""
    written = []
    for name, figure in figures(report).items():
        # "tight" keeps the legend beside the plot inside the picture.
        figure.savefig(directory / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(directory / name)
    return written
