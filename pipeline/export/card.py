"""The dataset card: a Hugging Face README.md with a YAML header and the run's provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

# The Hub's size buckets (the `size_categories` values its search filters on).
_SIZE_BUCKETS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                 (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))

_FORMAT_NOTES = {
    "openai": "OpenAI chat fine-tuning JSONL (`messages` of role/content)",
    "sharegpt": "ShareGPT JSONL (`conversations` of from/value: human, gpt, system)",
    "alpaca_jsonl": "Alpaca JSONL (`instruction`, `input`, `output`; multi-turn adds `history`)",
    "alpaca_json": "Alpaca JSON array (same fields as the JSONL)",
    "text": "plain `text` rendered through a chat template",
    "parquet": "Parquet (`id`, `messages`, `instruction`, `input`, `output`, `source_stage`[, `text`])",
    "hf_disk": "`datasets.load_from_disk` folder (DatasetDict train/validation, same columns as Parquet)",
}


def size_category(n: int) -> str:
    for limit, name in _SIZE_BUCKETS:
        if n < limit:
            return name
    return "n>100M"


@dataclass
class CardFacts:
    """Everything the card states, gathered by the export writer."""

    pretty_name: str
    license: str
    task_categories: list[str]
    tags: list[str]
    languages: list[str]
    split_counts: dict[str, int]
    # export name -> {split: path relative to the export folder}; only files the Hub can load.
    files: dict[str, dict[str, str]]
    default_config: str | None
    manifest: dict[str, Any]
    format_counts: dict[str, Any]
    source_mix: dict[str, dict[str, int]]
    models: list[str]
    chat_template: str | None = None
    system_prompt: str | None = None
    push_status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def card_header(facts: CardFacts) -> dict[str, Any]:
    header: dict[str, Any] = {"license": facts.license, "pretty_name": facts.pretty_name}
    if facts.languages:
        header["language"] = facts.languages
    header["task_categories"] = facts.task_categories
    header["tags"] = facts.tags
    header["size_categories"] = [size_category(sum(facts.split_counts.values()))]
    configs = []
    for name, by_split in facts.files.items():
        entry: dict[str, Any] = {"config_name": name,
                                 "data_files": [{"split": s, "path": p} for s, p in by_split.items()]}
        if name == facts.default_config:
            entry["default"] = True
        configs.append(entry)
    if configs:
        header["configs"] = configs
    return header


def _stage_rows(facts: CardFacts) -> list[str]:
    rows = ["| stage | in | kept | rejected | top rejection reasons |", "|---|---:|---:|---:|---|"]
    stages = dict(facts.manifest.get("stages", {}))
    stages["format"] = {"status": "done", "counts": facts.format_counts["counts"],
                        "rejections_by_reason": facts.format_counts["rejections_by_reason"]}
    for name, entry in stages.items():
        if entry.get("status") != "done":
            rows.append(f"| {name} | {entry.get('status', '')} | | | |")
            continue
        c = entry.get("counts", {})
        reasons = ", ".join(f"{r} {n}" for r, n in list(entry.get("rejections_by_reason", {}).items())[:4])
        rows.append(f"| {name} | {c.get('in', 0)} | {c.get('kept', 0)} | {c.get('rejected', 0)} | {reasons} |")
    return rows


def _usage_rows(manifest: dict[str, Any]) -> list[str]:
    rows = ["| stage | requests | cached | prompt tokens | completion tokens |", "|---|---:|---:|---:|---:|"]
    for name, entry in manifest.get("stages", {}).items():
        total = entry.get("usage", {}).get("total")
        if total:
            rows.append(f"| {name} | {total.get('requests', 0)} | {total.get('cached', 0)} | "
                        f"{total.get('prompt_tokens', 0):,} | {total.get('completion_tokens', 0):,} |")
    totals = manifest.get("totals", {})
    cost = totals.get("estimated_cost_usd")
    rows.append(f"| **total** | {totals.get('requests', 0)} | {totals.get('cached', 0)} | "
                f"{totals.get('prompt_tokens', 0):,} | {totals.get('completion_tokens', 0):,} |")
    rows.append("")
    rows.append(f"Estimated cost: {'$' + format(cost, '.4f') if cost is not None else 'no price configured'}.")
    return rows


def render_card(facts: CardFacts) -> str:
    header = yaml.safe_dump(card_header(facts), sort_keys=False, allow_unicode=True)
    m = facts.manifest
    total = sum(facts.split_counts.values())
    splits = ", ".join(f"{s}: {n}" for s, n in facts.split_counts.items())
    lines = [
        "---", header.rstrip(), "---", "", f"# {facts.pretty_name}", "",
        (f"{total} instruction examples ({splits}), built by instruct-pipeline: Self-Instruct generation "
         "(Wang et al., 2023), Evol-Instruct rewriting (Xu et al., 2023), MinHash near-duplicate removal and "
         "quality filters. Every example was written by a language model; review it before use."), "",
        "## Files", "",
    ]
    for name, note in _FORMAT_NOTES.items():
        if name in facts.extra.get("exports", []):
            lines.append(f"- `{name}`: {note}")
    if facts.default_config:
        lines += ["", "```python", "from datasets import load_dataset", "",
                  f"ds = load_dataset(\"json\", data_files={facts.files[facts.default_config]!r})"
                  if facts.default_config != "parquet" else
                  f"ds = load_dataset(\"parquet\", data_files={facts.files['parquet']!r})", "```"]
    lines += ["", "## Provenance", "",
              f"- generator model(s): {', '.join(facts.models) or 'none recorded'}",
              (f"- pipeline config hash: `{m.get('config_hash', 'unknown')}` (run `{m.get('run_name', '')}`, "
               f"instruct-pipeline {m.get('pipeline_version', '')})"),
              f"- created: {m.get('created_at', '')}; updated: {m.get('updated_at', '')}"]
    if facts.chat_template:
        lines.append(f"- `text` chat template: {facts.chat_template}")
    if facts.system_prompt:
        lines.append(f"- system prompt added to every conversation: {facts.system_prompt!r}")
    if facts.push_status:
        lines.append(f"- push to hub: {facts.push_status}")
    lines += ["", "### Records through every stage", "", *_stage_rows(facts), "",
              "### Source of the exported examples", "", "| source stage | train | validation |", "|---|---:|---:|"]
    for src, by_split in sorted(facts.source_mix.items()):
        lines.append(f"| {src} | {by_split.get('train', 0)} | {by_split.get('validation', 0)} |")
    lines += ["", "### Token usage", "", *_usage_rows(m), "", "## License", "",
              (f"`{facts.license}`. The examples were produced by the generator model(s) above: their "
               "provider's terms of use apply to this data as well, which is why the pipeline's default is "
               "`other` rather than a permissive license. Set `format.card.license` once you have checked "
               "those terms."), ""]
    return "\n".join(lines)
