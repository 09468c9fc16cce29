"""Language distribution of the records the quality stage examined (its meta["lang"])."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pipeline.report.data import RunData
from pipeline.report.style import (
    OKABE_ITO,
    FigureResult,
    new_figure,
    no_data,
    save_png,
    style_axes,
    thousands,
)

TOP_LANGUAGES = 15


def language_counts(run: RunData) -> tuple[Counter, Counter]:
    """(kept, rejected) counts per language code, from records the quality stage measured."""
    kept = Counter(str(r.meta["lang"]) for r in run.records_of("quality") if r.meta.get("lang"))
    rejected: Counter = Counter()
    for rej in run.rejected_of("quality"):
        lang = rej.record.meta.get("lang") or rej.detail.get("lang")
        if lang:
            rejected[str(lang)] += 1
    return kept, rejected


def language_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "language", "Language distribution"
    kept, rejected = language_counts(run)
    if not kept and not rejected:
        return no_data(key, title, "Language not measured: the quality stage did not run or recorded no "
                                   "meta[\"lang\"].")
    langs = [lang for lang, _ in (kept + rejected).most_common(TOP_LANGUAGES)]
    fig = new_figure(8.0, max(2.8, 0.35 * len(langs) + 1.8))
    ax = fig.add_subplot()
    ys = list(range(len(langs)))
    k = [kept[lang] for lang in langs]
    r = [rejected[lang] for lang in langs]
    ax.barh(ys, k, height=0.6, color=OKABE_ITO[0], label="kept")
    ax.barh(ys, r, left=k, height=0.6, color=OKABE_ITO[1], label="rejected by quality")
    total = sum(k) + sum(r)
    for y, (a, b) in enumerate(zip(k, r)):
        ax.text(a + b, y, f" {a + b:,} ({(a + b) / total:.0%})", va="center", fontsize=8)
    ax.set_xlim(0, max(a + b for a, b in zip(k, r)) * 1.18)
    ax.set_yticks(ys, langs)
    ax.invert_yaxis()
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8)
    style_axes(ax, title, "records", "language")
    thousands(ax.xaxis)
    caption = "Language detected by the quality stage for every record it examined, kept and rejected."
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
