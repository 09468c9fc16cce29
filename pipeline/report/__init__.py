"""The run report: `write_report(run_dir)` renders figures and tables of a run into report.html."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pipeline.report.data import RunData, load_run
from pipeline.report.evol import evol_figure
from pipeline.report.funnel import funnel_figure, rejections_figure
from pipeline.report.html import render_html
from pipeline.report.language import language_figure
from pipeline.report.lengths import lengths_figure
from pipeline.report.similarity import rouge_figure
from pipeline.report.style import FigureResult
from pipeline.report.tables import rejection_tables, sample_tables
from pipeline.report.usage import usage_figure
from pipeline.report.verbs import verb_noun_figure
from pipeline.rundir import atomic_write_text

log = logging.getLogger(__name__)

FIGURE_KEYS = ("funnel", "rejections", "verb_noun", "lengths", "rouge_seed", "language", "evol", "usage")


def _figure_builders(run: RunData, out_dir: Path) -> list[tuple[str, str, Callable[[], FigureResult]]]:
    final = run.final_stage()
    records = list(final.kept or []) if final else []
    source = f"{len(records):,} records after stage '{final.name}'" if final else "no records"
    return [
        ("funnel", "Records through the pipeline", lambda: funnel_figure(run, out_dir)),
        ("rejections", "Rejections by reason per stage", lambda: rejections_figure(run, out_dir)),
        ("verb_noun", "Root verbs and their direct objects", lambda: verb_noun_figure(records, source, out_dir)),
        ("lengths", "Lengths of instructions, inputs and outputs", lambda: lengths_figure(records, source, out_dir)),
        ("rouge_seed", "ROUGE-L to the most similar seed instruction", lambda: rouge_figure(run, out_dir)),
        ("language", "Language distribution", lambda: language_figure(run, out_dir)),
        ("evol", "Evol-Instruct depth and operation mix", lambda: evol_figure(run, out_dir)),
        ("usage", "Token usage and estimated cost per stage", lambda: usage_figure(run, out_dir)),
    ]


def build_figures(run: RunData, out_dir: Path) -> list[FigureResult]:
    figures = []
    for key, title, build in _figure_builders(run, out_dir):
        stale = out_dir / f"{key}.png"
        if stale.exists():
            stale.unlink()  # a figure that now has no data must not leave an old PNG beside the report
        try:
            figures.append(build())
        except Exception as exc:  # one broken figure should not cost the user the whole report
            log.warning("report figure %s failed: %s", key, exc, exc_info=True)
            figures.append(FigureResult(key, title, note=f"This figure failed to render: {type(exc).__name__}: "
                                                         f"{exc}"))
    return figures


def write_report(run_dir: Path) -> Path:
    """Write RUN_DIR/report.html (self-contained) and the figures as RUN_DIR/report/*.png; return the HTML path."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    out_dir = run_dir / "report"
    figures = build_figures(run, out_dir)
    html = render_html(run, figures, sample_tables(run), rejection_tables(run))
    path = run_dir / "report.html"
    atomic_write_text(path, html)
    return path


__all__ = ["FIGURE_KEYS", "write_report"]
