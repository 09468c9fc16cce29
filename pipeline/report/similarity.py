"""Self-Instruct's Figure 3: how similar each generated instruction is to its most similar seed (ROUGE-L)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from rouge_score import rouge_scorer

from pipeline.records import Record
from pipeline.report.data import RunData
from pipeline.report.style import OKABE_ITO, FigureResult, new_figure, no_data, save_png, style_axes

# Computing ROUGE-L against every seed is quadratic; a sample describes the distribution well enough.
SAMPLE_SIZE = 300
# Self-Instruct rejects a new instruction whose ROUGE-L with any pool instruction exceeds 0.7.
REJECT_THRESHOLD = 0.7


def max_rouge_l(candidates: list[str], references: list[str]) -> list[float]:
    # No stemming, as in Self-Instruct's filter.
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return [max((scorer.score(ref, c)["rougeL"].fmeasure for ref in references), default=0.0)
            for c in candidates]


def rouge_to_seeds(run: RunData) -> tuple[list[float], str]:
    """Scores and where they came from: the stage's own meta, or computed now on a seeded sample."""
    generated = run.records_of("self_instruct")
    stored = [r.meta["rouge_l_seed"] for r in generated if isinstance(r.meta.get("rouge_l_seed"), (int, float))]
    if stored:
        return [float(v) for v in stored], "meta rouge_l_seed recorded by the self_instruct stage"
    seeds = [r.instruction for r in run.records_of("seeds") if r.instruction]
    candidates: list[Record] = [r for r in generated if r.instruction]
    if not candidates or not seeds:
        return [], ""
    sample = random.Random(f"{run.seed}:report.rouge").sample(candidates, min(SAMPLE_SIZE, len(candidates)))
    scores = max_rouge_l([r.instruction for r in sample], seeds)
    return scores, f"computed now with rouge_score on a seeded sample of {len(sample)} instructions"


def rouge_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "rouge_seed", "ROUGE-L to the most similar seed instruction"
    scores, source = rouge_to_seeds(run)
    if not scores:
        return no_data(key, title, "No self_instruct records (or no seeds to compare with): no data.")
    arr = np.asarray(scores)
    fig = new_figure(8.0, 4.0)
    ax = fig.add_subplot()
    ax.hist(arr, bins=np.linspace(0, 1, 21), color=OKABE_ITO[0], edgecolor="white", linewidth=0.5)
    ax.axvline(REJECT_THRESHOLD, color=OKABE_ITO[5], linestyle="--", linewidth=1.2,
               label=f"pool rejection threshold {REJECT_THRESHOLD}")
    ax.axvline(float(np.median(arr)), color="#222222", linestyle=":", linewidth=1.2,
               label=f"median {np.median(arr):.2f}")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False, fontsize=8)
    style_axes(ax, f"{title} (n={len(arr):,})", "ROUGE-L F-measure to the most similar seed", "instructions")
    caption = (f"Self-Instruct's Figure 3: generated instructions that are mostly new show low overlap with "
               f"every seed. Scores: {source}.")
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key))
