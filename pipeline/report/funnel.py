"""The funnel (records in and kept at every stage) and the rejections by reason per stage."""

from __future__ import annotations

from pathlib import Path

from pipeline.report.data import RunData
from pipeline.report.style import (
    GREY,
    OKABE_ITO,
    FigureResult,
    colour,
    new_figure,
    no_data,
    save_png,
    style_axes,
    thousands,
)


def funnel_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "funnel", "Records through the pipeline"
    measured = [s for s in run.stages if s.count_kept is not None]
    if not measured:
        return no_data(key, title, "No stage has written records yet: no data.")
    fig = new_figure(9.0, 0.55 * len(run.stages) + 1.6)
    ax = fig.add_subplot()
    labels = [s.name for s in run.stages]
    ys = list(range(len(run.stages)))
    top = max(max(s.count_in or 0, s.count_kept or 0) for s in measured) or 1
    labelled = False
    for y, s in zip(ys, run.stages):
        if s.count_kept is None:
            ax.text(top * 0.01, y, f"{s.status}", va="center", color=GREY, style="italic")
            continue
        # The y axis is inverted below, so "in" (y - 0.2) sits above "kept" (y + 0.2) within a stage.
        ax.barh(y - 0.2, s.count_in or 0, height=0.38, color=OKABE_ITO[4],
                label=None if labelled else "records in")
        ax.barh(y + 0.2, s.count_kept, height=0.38, color=OKABE_ITO[0], label=None if labelled else "kept")
        labelled = True
        ax.text((s.count_in or 0) + top * 0.01, y - 0.2, f"{s.count_in or 0:,}", va="center", fontsize=8)
        ax.text(s.count_kept + top * 0.01, y + 0.2, f"{s.count_kept:,}", va="center", fontsize=8)
    ax.set_yticks(ys, labels)
    ax.set_ylim(len(ys) - 0.4, -0.6)  # inverted: first stage on top, as in a funnel
    ax.set_xlim(0, top * 1.15)
    style_axes(ax, title, "records", "stage")
    thousands(ax.xaxis)
    # Above the axes: inside, it would cover the last stage's bars when counts barely change.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=2, frameon=False)
    caption = "Records entering each stage and kept by it; a stage that wrote nothing shows its status."
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))


def rejections_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "rejections", "Rejections by reason per stage"
    bars: list[tuple[str, str, int, int]] = []  # (stage, reason, count, stage position)
    for pos, s in enumerate(run.stages):
        for reason, count in s.rejections_by_reason().items():
            bars.append((s.name, reason, count, pos))
    if not bars:
        return no_data(key, title, "No stage rejected any record (or no stage has run): no data.")
    fig = new_figure(9.0, 0.32 * len(bars) + 1.6)
    ax = fig.add_subplot()
    ys = list(range(len(bars)))
    top = max(b[2] for b in bars)
    seen: set[str] = set()
    for y, (stage, reason, count, pos) in zip(ys, bars):
        ax.barh(y, count, color=colour(pos), label=stage if stage not in seen else None)
        seen.add(stage)
        ax.text(count + top * 0.01, y, f"{count:,}", va="center", fontsize=8)
    ax.set_yticks(ys, [f"{b[0]}: {b[1]}" for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.15)
    style_axes(ax, title, "rejected records", "stage: reason")
    thousands(ax.xaxis)
    ax.legend(title="stage", loc="lower right", frameon=False, fontsize=8)
    caption = "Every rejection carries a reason; counts come from the manifest (or the rejected.jsonl files)."
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
