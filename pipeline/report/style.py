"""Shared look of the report's figures: a colour-blind-safe palette, figure creation, PNG output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# Okabe & Ito (2008) palette, distinguishable under the common colour-vision deficiencies,
# then Paul Tol's "muted" scheme for charts that need more categories.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
             "#AA4499", "#DDDDDD"]
PALETTE = OKABE_ITO[:7] + TOL_MUTED[:9]
GREY = "#999999"
DPI = 110


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@dataclass
class FigureResult:
    """One report figure: a PNG when there was data, otherwise a note saying what was missing."""

    key: str
    title: str
    caption: str = ""
    png: Path | None = None
    note: str | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)  # {"title", "columns", "rows"}


def new_figure(width: float = 9.0, height: float = 4.5) -> Figure:
    # The object API (no pyplot) keeps no global state and needs no GUI backend: Agg renders it.
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_png(fig: Figure, out_dir: Path, key: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{key}.png"
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def no_data(key: str, title: str, note: str, caption: str = "") -> FigureResult:
    return FigureResult(key=key, title=title, caption=caption, note=note)


def thousands(axis: Any) -> None:
    """Plain counts with separators (1,250,000) instead of matplotlib's offset notation (1.25 1e6)."""
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))


def style_axes(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="both", alpha=0.25, linewidth=0.6)
    ax.set_axisbelow(True)
