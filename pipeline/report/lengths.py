"""Length histograms (in words) of the instructions, inputs and outputs of the final dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.records import Record
from pipeline.report.style import OKABE_ITO, FigureResult, new_figure, no_data, save_png, style_axes
from pipeline.report.verbs import instruction_text


def _output_text(record: Record) -> str:
    if record.output:
        return record.output
    return "\n".join(m.content for m in record.messages or [] if m.role == "assistant")


def word_lengths(records: list[Record]) -> dict[str, list[int]]:
    return {
        "instruction": [len(instruction_text(r).split()) for r in records],
        "input": [len(r.input.split()) for r in records if r.input.strip()],
        "output": [len(_output_text(r).split()) for r in records],
    }


def lengths_figure(records: list[Record], source: str, out_dir: Path) -> FigureResult:
    key, title = "lengths", "Lengths of instructions, inputs and outputs"
    if not records:
        return no_data(key, title, "No records in the final dataset: no data.")
    lengths = word_lengths(records)
    fig = new_figure(11.0, 3.8)
    axes = fig.subplots(1, 3)
    for ax, (field, values), col in zip(axes, lengths.items(), (OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2])):
        sub = f"{field} (n={len(values):,})"
        if not values:
            ax.text(0.5, 0.5, "no data\n(every input is empty)" if field == "input" else "no data",
                    ha="center", va="center", transform=ax.transAxes, color="#666666")
            style_axes(ax, sub, "words", "records")
            continue
        arr = np.asarray(values)
        # Clip the long tail at the 99th percentile so one runaway output does not flatten the histogram.
        hi = max(int(np.percentile(arr, 99)), 1)
        lo = int(arr.min())
        # One bar per word count when the range is narrow, 30 even bins otherwise.
        bins = np.arange(lo, hi + 2) - 0.5 if hi - lo < 30 else np.linspace(lo, hi, 31)
        ax.hist(np.minimum(arr, hi), bins=bins, color=col, edgecolor="white", linewidth=0.5)
        ax.axvline(float(np.median(arr)), color="#222222", linestyle="--", linewidth=1,
                   label=f"median {np.median(arr):.0f}")
        ax.legend(frameon=False, fontsize=8)
        style_axes(ax, sub, "words" + (f" (clipped at {hi})" if arr.max() > hi else ""), "records")
    empty_inputs = len(records) - len(lengths["input"])
    fig.suptitle(f"{title} ({source})", fontsize=12)
    caption = (f"Whitespace-separated words. {empty_inputs:,} of {len(records):,} records have no input "
               "(the input histogram counts only non-empty ones). Multi-turn records use their first user "
               "turn as instruction and their assistant turns as output.")
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
