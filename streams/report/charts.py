"""Panels as SVG with matplotlib (Agg, no display): lines or stacked bars over time, a heat map
of series over time, horizontal bars. Each SVG is inlined in the page, so it needs no file."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

PALETTE: Final = (
    "#3274d9", "#e0752d", "#56a64b", "#c4162a", "#8f3bb8", "#f2cc0c", "#1f9e89", "#a16d4e",
    "#5794f2", "#ff9830", "#73bf69", "#f2495c",
)  # fmt: skip


@dataclass(frozen=True)
class Series:
    name: str
    times: Sequence[datetime]
    values: Sequence[float]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e5e5e5",
            "axes.prop_cycle": cycler(color=PALETTE),
        }
    )
    return plt


def _svg(figure: Any, salt: str) -> str:
    plt = _pyplot()
    plt.rcParams["svg.hashsalt"] = salt  # ids stay unique between the page's SVGs
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width_cols: int, height: float = 2.6) -> tuple[Any, Any]:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(3.6, width_cols / 24 * 11), height), dpi=100)
    return figure, axes


def over_time(
    series: Sequence[Series], unit_label: str, salt: str, width_cols: int, bars: bool
) -> str:
    figure, axes = _figure(width_cols)
    if bars:
        bottom: dict[datetime, float] = {}
        for s in series:
            starts = [bottom.get(t, 0.0) for t in s.times]
            width = _bar_width(s.times)
            axes.bar(s.times, s.values, width=width, bottom=starts, label=s.name, align="edge")
            for t, v in zip(s.times, s.values, strict=True):
                bottom[t] = bottom.get(t, 0.0) + v
    else:
        for s in series:
            axes.plot(s.times, s.values, label=s.name, linewidth=1.2)
    _clock_axis(axes)
    axes.set_ylabel(unit_label)
    if series and len(series) <= 12:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(figure, salt)


def _bar_width(times: Sequence[datetime]) -> float:
    if len(times) < 2:
        return 1 / 96
    step = min((b - a).total_seconds() for a, b in itertools.pairwise(times) if b > a)
    return step / 86_400 * 0.9


def heat_map(series: Sequence[Series], unit_label: str, salt: str, width_cols: int) -> str:
    import matplotlib.dates as mdates
    import numpy as np

    times = sorted({t for s in series for t in s.times})
    index = {t: i for i, t in enumerate(times)}
    grid = np.full((len(series), len(times)), np.nan)
    for row, s in enumerate(series):
        for t, v in zip(s.times, s.values, strict=True):
            grid[row, index[t]] = v
    figure, axes = _figure(width_cols, height=max(1.8, 0.35 * len(series) + 0.9))
    edges = [*times, times[-1]] if times else []
    x = mdates.date2num(edges)  # type: ignore[no-untyped-call]
    mesh = axes.pcolormesh(
        x, np.arange(len(series) + 1), np.ma.masked_invalid(grid), cmap="Oranges"
    )
    axes.set_yticks(np.arange(len(series)) + 0.5, [s.name for s in series])
    _clock_axis(axes)
    axes.grid(False)
    figure.colorbar(mesh, ax=axes, label=unit_label, pad=0.01)
    return _svg(figure, salt)


def bars(
    names: Sequence[str], values: Sequence[float], unit_label: str, salt: str, width_cols: int
) -> str:
    figure, axes = _figure(width_cols, height=max(1.6, 0.3 * len(names) + 0.6))
    axes.barh(list(names), list(values), color=PALETTE[0])
    axes.invert_yaxis()
    axes.set_xlabel(unit_label)
    for y, v in enumerate(values):
        axes.annotate(f"{v:g}", (v, y), xytext=(3, 0), textcoords="offset points", va="center")
    return _svg(figure, salt)


def _clock_axis(axes: Any) -> None:
    import matplotlib.dates as mdates

    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
