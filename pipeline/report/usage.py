"""Token usage per stage and its estimated cost at the prices the config gives per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def stage_price(run: RunData) -> tuple[str | None, dict[str, float] | None]:
    """The generator model and its price per million tokens from config.yaml (None when not configured)."""
    generator = run.config.get("generator", {}) or {}
    model = generator.get("model")
    price = (generator.get("prices", {}) or {}).get(model) if model else None
    return model, price if isinstance(price, dict) else None


def cost(prompt: int, completion: int, price: dict[str, float] | None) -> float | None:
    if price is None:
        return None
    return (prompt * float(price.get("input_per_mtok", 0)) + completion * float(price.get("output_per_mtok", 0))) / 1e6


def usage_rows(run: RunData) -> list[dict[str, Any]]:
    _, price = stage_price(run)
    rows = []
    for s in run.stages:
        total = s.usage_total
        if not total.get("requests"):
            continue
        p, c = int(total.get("prompt_tokens", 0)), int(total.get("completion_tokens", 0))
        rows.append({"stage": s.name, "requests": int(total.get("requests", 0)),
                     "cached": int(total.get("cached", 0)), "failed": int(total.get("failed", 0)),
                     "prompt_tokens": p, "completion_tokens": c, "cost": cost(p, c, price)})
    return rows


def _money(value: float | None) -> str:
    return "no price configured" if value is None else f"${value:,.4f}"


def usage_figure(run: RunData, out_dir: Path) -> FigureResult:
    key, title = "usage", "Token usage and estimated cost per stage"
    rows = usage_rows(run)
    model, price = stage_price(run)
    if not rows:
        return no_data(key, title, "No stage called a model in this run (or usage was not recorded): no data.")
    fig = new_figure(9.0, 0.5 * len(rows) + 1.8)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    prompt = [r["prompt_tokens"] for r in rows]
    completion = [r["completion_tokens"] for r in rows]
    ax.barh(ys, prompt, color=OKABE_ITO[0], label="prompt tokens")
    ax.barh(ys, completion, left=prompt, color=OKABE_ITO[1], label="completion tokens")
    for y, row in enumerate(rows):
        label = f" {row['prompt_tokens'] + row['completion_tokens']:,} tok"
        if row["cost"] is not None:
            label += f", {_money(row['cost'])}"
        ax.text(row["prompt_tokens"] + row["completion_tokens"], y, label, va="center", fontsize=8)
    ax.set_yticks(ys, [r["stage"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(p + c for p, c in zip(prompt, completion)) * 1.4 or 1)
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    style_axes(ax, title, "tokens", "stage")
    thousands(ax.xaxis)
    total_p, total_c = sum(prompt), sum(completion)
    price_text = (f"{model}: ${price.get('input_per_mtok', 0)}/M input, ${price.get('output_per_mtok', 0)}/M "
                  "output tokens" if price else f"no price for {model or 'the generator model'} in "
                  "generator.prices, so no cost is estimated")
    caption = (f"Tokens counted by the generator (cached answers included: they describe the dataset, though a "
               f"rerun does not pay for them). Prices: {price_text}.")
    table = {
        "title": "Usage per stage",
        "columns": ["stage", "requests", "cached", "failed", "prompt tokens", "completion tokens",
                    "estimated cost"],
        "rows": [[r["stage"], f"{r['requests']:,}", f"{r['cached']:,}", f"{r['failed']:,}",
                  f"{r['prompt_tokens']:,}", f"{r['completion_tokens']:,}", _money(r["cost"])] for r in rows]
        + [["total", f"{sum(r['requests'] for r in rows):,}", f"{sum(r['cached'] for r in rows):,}",
            f"{sum(r['failed'] for r in rows):,}", f"{total_p:,}", f"{total_c:,}",
            _money(cost(total_p, total_c, price))]],
    }
    return FigureResult(key, title, caption, png=save_png(fig, out_dir, key), tables=[table])
