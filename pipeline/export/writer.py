"""Writes a run's export folder (every chosen format per split, the card, exports.json) and swaps it in whole."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline.export.alpaca import alpaca_row, uniform_columns
from pipeline.export.card import CardFacts, render_card
from pipeline.export.hf import build_dataset_dict, push_to_hub, save_to_disk, table_row, write_parquet
from pipeline.export.messages import source_stage
from pipeline.export.openai_chat import openai_row
from pipeline.export.sharegpt import sharegpt_row
from pipeline.records import Record
from pipeline.rundir import atomic_write_lines, atomic_write_text, file_sha256

if TYPE_CHECKING:
    from pipeline.stages.format import FormatConfig

SPLITS = ("train", "validation")
# Where each JSON export lives and how its rows are built.
_JSONL_EXPORTS = {"openai": ("openai", openai_row), "sharegpt": ("sharegpt", sharegpt_row),
                  "alpaca_jsonl": ("alpaca", alpaca_row)}
# The card's default config: the first of these that was written.
_DEFAULT_ORDER = ("parquet", "openai", "sharegpt", "alpaca_jsonl", "alpaca_json", "text")


def _by_split(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for r in records:
        out[r.meta.get("split", "train")].append(r)
    return {s: rs for s, rs in out.items() if rs}


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


class ExportWriter:
    def __init__(self, config: FormatConfig, run_root: Path, texts: dict[str, str] | None = None):
        self.config = config
        self.run_root = Path(run_root)
        self.texts = texts or {}
        self.files: dict[str, dict[str, Any]] = {}
        self.loadable: dict[str, dict[str, str]] = {}

    @property
    def export_dir(self) -> Path:
        return self.run_root / "export"

    def _jsonl(self, root: Path, rel: str, rows: list[dict[str, Any]]) -> None:
        sha = atomic_write_lines(root / rel, (_dumps(r) for r in rows))
        self.files[rel] = {"rows": len(rows), "sha256": sha}

    def write(self, records: list[Record], manifest: dict[str, Any], format_counts: dict[str, Any]) -> dict:
        """Build everything in a temp folder beside export/, then rename it into place (readers never see a
        half-written export). Returns the counters for the stage's stats."""
        tmp = self.run_root / f".export.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        push = None
        try:
            splits = _by_split(records)
            if splits:
                self._write_formats(tmp, splits)
            facts = self._card_facts(records, splits, manifest, format_counts)
            atomic_write_text(tmp / "README.md", render_card(facts))
            summary = {"splits": {s: len(rs) for s, rs in splits.items()}, "files": self.files,
                       "exports": list(self.config.exports)}
            atomic_write_text(tmp / "exports.json", json.dumps(summary, indent=2))
            self._swap(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.config.push_to_hub:
            push = push_to_hub(self.export_dir, self.config.push_to_hub)
        return {"export_dir": str(self.export_dir), "split_counts": summary["splits"],
                "files": {k: v["rows"] for k, v in self.files.items()},
                "push_to_hub": push or "not requested"}

    def _swap(self, tmp: Path) -> None:
        old = self.run_root / f".export.old-{os.getpid()}"
        if self.export_dir.exists():
            os.replace(self.export_dir, old)
        os.replace(tmp, self.export_dir)
        shutil.rmtree(old, ignore_errors=True)

    def _write_formats(self, root: Path, splits: dict[str, list[Record]]) -> None:
        cfg = self.config
        sp = cfg.system_prompt
        for name, (folder, build) in _JSONL_EXPORTS.items():
            if name in cfg.exports:
                rows = {s: [build(r, sp) for r in rs] for s, rs in splits.items()}
                if name == "alpaca_jsonl":
                    rows = self._uniform(rows)
                for s, rs in rows.items():
                    self._jsonl(root, f"{folder}/{s}.jsonl", rs)
                self.loadable[name] = {s: f"{folder}/{s}.jsonl" for s in rows}
        if "alpaca_json" in cfg.exports:
            rows = self._uniform({s: [alpaca_row(r, sp) for r in rs] for s, rs in splits.items()})
            for s, rs in rows.items():
                rel = f"alpaca/{s}.json"
                sha = atomic_write_lines(root / rel, [json.dumps(rs, ensure_ascii=False, indent=2)])
                self.files[rel] = {"rows": len(rs), "sha256": sha}
            self.loadable["alpaca_json"] = {s: f"alpaca/{s}.json" for s in rows}
        if "text" in cfg.exports:
            for s, rs in splits.items():
                self._jsonl(root, f"text/{s}.jsonl", [{"text": self.texts[r.id]} for r in rs])
            self.loadable["text"] = {s: f"text/{s}.jsonl" for s in splits}
        if "parquet" in cfg.exports or "hf_disk" in cfg.exports:
            with_text = "text" in cfg.exports
            dataset = build_dataset_dict({s: [table_row(r, sp, self.texts.get(r.id) if with_text else None)
                                              for r in rs] for s, rs in splits.items()})
            if "parquet" in cfg.exports:
                for s, rs in splits.items():
                    rel = f"parquet/{s}.parquet"
                    write_parquet(dataset[s], root / rel)
                    self.files[rel] = {"rows": len(rs), "sha256": file_sha256(root / rel)}
                self.loadable["parquet"] = {s: f"parquet/{s}.parquet" for s in splits}
            if "hf_disk" in cfg.exports:
                save_to_disk(dataset, root / "hf")
                self.files["hf"] = {"rows": sum(len(rs) for rs in splits.values()), "sha256": None}

    @staticmethod
    def _uniform(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        """One schema across splits: fill optional columns from the union of every split's rows."""
        flat = uniform_columns([r for rs in rows.values() for r in rs])
        out, i = {}, 0
        for s, rs in rows.items():
            out[s] = flat[i: i + len(rs)]
            i += len(rs)
        return out

    def _card_facts(self, records: list[Record], splits: dict[str, list[Record]], manifest: dict[str, Any],
                    format_counts: dict[str, Any]) -> CardFacts:
        card = self.config.card
        langs = Counter(r.meta["lang"] for r in records if isinstance(r.meta.get("lang"), str)
                        and r.meta["lang"] not in ("", "unknown", "und"))
        mix: dict[str, dict[str, int]] = defaultdict(dict)
        for s, rs in splits.items():
            for src, n in Counter(source_stage(r) for r in rs).items():
                mix[src][s] = n
        default = next((n for n in _DEFAULT_ORDER if n in self.loadable), None)
        return CardFacts(
            pretty_name=card.pretty_name or manifest.get("run_name") or "instruct-pipeline dataset",
            license=card.license, task_categories=list(card.task_categories), tags=list(card.tags),
            languages=card.language if card.language is not None else [lang for lang, _ in langs.most_common()],
            split_counts={s: len(rs) for s, rs in splits.items()}, files=self.loadable, default_config=default,
            manifest=manifest, format_counts=format_counts, source_mix=dict(mix),
            models=self._models(records), chat_template=self.config.chat_template if "text" in self.config.exports
            else None, system_prompt=self.config.system_prompt, extra={"exports": list(self.config.exports)})

    def _models(self, records: list[Record]) -> list[str]:
        """Models named in record meta (per generation) and the run's configured generator model."""
        models = Counter(r.meta["model"] for r in records if isinstance(r.meta.get("model"), str))
        config_path = self.run_root / "config.yaml"
        if config_path.exists():
            try:
                configured = (yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}).get("generator", {})
                if isinstance(configured.get("model"), str):
                    models.setdefault(configured["model"], 0)
            except yaml.YAMLError:
                pass
        return [m for m, _ in models.most_common()]
