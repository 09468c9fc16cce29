"""Evol-Instruct: how deep the kept instructions evolved and which operations made (or failed) them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pipeline.records import Record
from pipeline.report.data import RunData
from pipeline.report.style import OKABE_ITO, FigureResult, colour, new_figure, no_data, save_png, style_axes


def evol_info(record: Record) -> tuple[int, str] | None:
    """(depth, last operation) from meta["evol"], else from the lineage; None for an unevolved record."""
    evol = record.meta.get("evol")
    if isinstance(evol, dict) and evol.get("op"):
        depth = evol.get("depth")
        return (int(depth) if isinstance(depth, (int, float)) else len(record.lineage) or 1, str(evol["op"]))
    if record.lineage:
        return len(record.lineage), record.lineage[-1]
    return None


def evol_counts(run: RunData) -> tuple[Counter, Counter, Counter, int]:
    """(kept per (depth, op), kept per op, rejected per op, kept records that were not evolved)."""
    by_depth: Counter = Counter()
    kept_ops: Counter = Counter()
    unevolved = 0
    for rec in run.records_of("evol_instruct"):
        info = evol_info(rec)
        if info is None:
            unevolved += 1
            continue
        by_depth[info] += 1
        kept_ops[info[1]] += 1
    rejected_ops: Counter = Counter()
    for rej in run.rejected_of("evol_instruct"):
        info = evol_info(rej.record)
        op = info[1] if info else rej.detail.get("op")
        rejected_ops[str(op) if op else "unknown"] += 1
    return by_depth, kept_ops, rejected_ops, unevolved


def evol_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "evol", "Evol-Instruct depth and operation mix"
    by_depth, kept_ops, rejected_ops, unevolved = evol_counts(run)
    if not by_depth and not rejected_ops:
        return no_data(key, title, "No Evol-Instruct records (the stage is disabled or has not run): no data.")
    ops = sorted(set(kept_ops) | set(rejected_ops), key=lambda op: -(kept_ops[op] + rejected_ops[op]))
    depths = sorted({d for d, _ in by_depth}) or [1]
    fig = new_figure(11.0, 4.2)
    ax_depth, ax_ops = fig.subplots(1, 2)

    bottom = [0] * len(depths)
    for i, op in enumerate(ops):
        heights = [by_depth[(d, op)] for d in depths]
        if any(heights):
            ax_depth.bar([str(d) for d in depths], heights, bottom=bottom, color=colour(i), label=op)
            bottom = [b + h for b, h in zip(bottom, heights)]
    if by_depth:
        # Outside the axes: stacked bars fill the plot area, so a legend inside would hide them.
        ax_depth.legend(title="last operation", frameon=False, fontsize=8, loc="upper left",
                        bbox_to_anchor=(1.0, 1.0))
    extra = f"\n(and {unevolved:,} kept records that were not evolved)" if unevolved else ""
    style_axes(ax_depth, "Kept evolved instructions by depth" + extra, "depth (evolution steps from the root)",
               "records")

    ys = list(range(len(ops)))
    k = [kept_ops[op] for op in ops]
    r = [rejected_ops[op] for op in ops]
    ax_ops.barh(ys, k, color=OKABE_ITO[0], label="kept")
    ax_ops.barh(ys, r, left=k, color=OKABE_ITO[1], label="eliminated")
    for y, (a, b) in enumerate(zip(k, r)):
        rate = f"  {b / (a + b):.0%} eliminated" if a + b else ""
        ax_ops.text(a + b, y, f" {a + b:,}{rate}", va="center", fontsize=8)
    ax_ops.set_yticks(ys, ops)
    ax_ops.invert_yaxis()
    ax_ops.set_xlim(0, max((a + b for a, b in zip(k, r)), default=1) * 1.45)
    ax_ops.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    style_axes(ax_ops, "Operations: kept and eliminated", "records", "operation")
    fig.suptitle(title, fontsize=12)
    caption = ("Depth and last operation from meta[\"evol\"] (or the lineage). Eliminated evolutions are the "
               "stage's rejections, counted by the operation that produced them.")
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
