"""The committed charts stay readable: built from the committed run and inspected
as matplotlib draws them, before they become pixels.

A series is what a legend entry stands for; two that look alike (the same
colour and line style, or for bars the same colour and hatch) cannot be told
apart, which is how twelve lines on a ten-colour cycle once hid each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sockbench import plot
from tests.procs import REPO

MEASURED = json.loads((REPO / "docs" / "perf" / "bench.json").read_text())
CHARTS = ["greet.png", "chat.png", "stream.png", "idle-latency.png", "idle-memory.png",
          "syscalls.png"]


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Figure]]:
    drawn = plot.figures(MEASURED)
    yield drawn
    for figure in drawn.values():
        plot.plt.close(figure)


def legend_of(figure: Figure) -> Legend:
    (axes,) = figure.axes
    legend = axes.get_legend()
    assert legend is not None, "the chart has no legend"
    return legend


def look(handle: Any) -> tuple[str, ...]:
    """How a legend entry's series looks on the chart."""
    if isinstance(handle, Line2D):
        return "line", to_hex(handle.get_color()), str(handle.get_linestyle())
    assert isinstance(handle, Patch), handle
    return "patch", to_hex(handle.get_facecolor()), str(handle.get_hatch())


def test_the_committed_run_has_every_chart(figures: dict[str, Figure]) -> None:
    assert sorted(figures) == sorted(CHARTS)


@pytest.mark.parametrize("chart", CHARTS)
def test_no_two_series_look_alike(figures: dict[str, Figure], chart: str) -> None:
    legend = legend_of(figures[chart])
    seen: dict[tuple[str, ...], str] = {}
    for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
        label = text.get_text()
        assert look(handle) not in seen, (
            f"{chart}: {label!r} looks like {seen[look(handle)]!r}: {look(handle)}")
        seen[look(handle)] = label


@pytest.mark.parametrize("chart", CHARTS)
def test_every_line_is_in_the_legend_and_the_legend_covers_none(
        figures: dict[str, Figure], chart: str) -> None:
    figure = figures[chart]
    (axes,) = figure.axes
    legend = legend_of(figure)
    labels = {text.get_text() for text in legend.get_texts()}
    lines = {line.get_label() for line in axes.get_lines()
             if not str(line.get_label()).startswith("_")}
    assert lines <= labels, f"{chart}: not in the legend: {sorted(lines - labels)}"
    figure.canvas.draw()
    assert not legend.get_window_extent().overlaps(axes.get_window_extent()), (
        f"{chart}: the legend lies over the plot")


def test_idle_lines_that_stop_at_a_level_not_held_end_in_a_cross(
        figures: dict[str, Figure]) -> None:
    (axes,) = figures["idle-latency.png"].axes
    crosses = {(to_hex(line.get_color()), float(line.get_xdata()[0]), float(line.get_ydata()[0]))
               for line in axes.get_lines() if line.get_marker() == "x"}
    stopped = [name for name, r in MEASURED["scenarios"]["idle"]["results"].items()
               if any("failed" in cell for cell in r["levels"].values())]
    assert stopped, "the committed run has a level not held"
    series = {line.get_label(): line for line in axes.get_lines()}
    for name in stopped:
        (line,) = [line for label, line in series.items() if str(label).startswith(f"{name}:")]
        end = (to_hex(line.get_color()), float(line.get_xdata()[-1]),
               float(line.get_ydata()[-1]))
        assert end in crosses, f"{name} stops at a level not held without a cross"


def test_rates_at_the_load_generators_limit_are_hatched_as_lower_bounds(
        figures: dict[str, Figure]) -> None:
    (axes,) = figures["greet.png"].axes
    names = [tick.get_text() for tick in axes.get_yticklabels()]
    bars = [patch for patch in axes.patches if isinstance(patch, Rectangle)]
    hatched = {name for name, bar in zip(names, bars, strict=True) if bar.get_hatch()}
    # Every round of nginx and the fastest servers is marked: the generator's
    # CPU was not below 75% of theirs.  No round of asyncio's own loop is.
    assert {"ceiling: nginx stream return", "v1_server/legacy", "v1_server/selectors"} <= hatched
    assert not {name for name in hatched if name.endswith("/asyncio")}


def test_a_memory_figure_the_run_could_not_measure_reads_n_a(
        figures: dict[str, Figure]) -> None:
    (axes,) = figures["idle-memory.png"].axes
    names = [tick.get_text() for tick in axes.get_yticklabels()]
    row = next(i for i, name in enumerate(names) if name.startswith("v4_poll/legacy:"))
    marks = [text for text in axes.texts if text.get_text() == "n/a"]
    assert [text.get_position()[1] for text in marks] == [row]
    dotted = {float(line.get_ydata()[0]) for line in axes.get_lines()}
    assert row not in dotted and len(dotted) == len(names) - 1


def test_stream_rates_are_drawn_on_a_log_axis(figures: dict[str, Figure]) -> None:
    (axes,) = figures["stream.png"].axes
    assert axes.get_xscale() == "log"
    assert "log scale" in axes.get_xlabel()


def test_a_row_is_drawn_as_the_generators_by_its_rounds_marks() -> None:
    marked, clear = {"generator_bound": True}, {"generator_bound": False}
    assert plot.generator_limited({"generator_cpu": 0.5, "rounds": [marked, clear]})
    assert not plot.generator_limited({"generator_cpu": 0.99,
                                       "rounds": [clear, clear, clear, marked]})
    # A report written before rounds were judged: the generator's share decides.
    assert plot.generator_limited({"generator_cpu": 0.95, "rounds": [{}, {}]})
    assert not plot.generator_limited({"generator_cpu": 0.5, "rounds": [{}, {}]})
