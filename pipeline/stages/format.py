"""The format stage: keeps records that make valid training examples, splits them, and writes the exports."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.export.chat_text import ChatRenderer
from pipeline.export.convert import convert_batch
from pipeline.export.messages import record_messages, source_stage
from pipeline.export.split import assign_splits
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig, StageContext, executor_of

ExportName = Literal["alpaca_json", "alpaca_jsonl", "sharegpt", "openai", "parquet", "hf_disk", "text"]


class CardConfig(StrictModel):
    # "other" by default: model-written data carries the generator provider's terms, so we do not claim a
    # permissive license for it; set e.g. "apache-2.0" once those terms allow it.
    license: str = "other"
    pretty_name: str | None = None
    # None: the languages the quality stage detected (meta["lang"]), most frequent first.
    language: list[str] | None = None
    task_categories: list[str] = Field(default_factory=lambda: ["text-generation", "question-answering"])
    tags: list[str] = Field(default_factory=lambda: ["synthetic", "instruction-tuning", "self-instruct",
                                                     "evol-instruct"])


class FormatConfig(StageConfig):
    # Every format trainers load without help (METHODS.md "Formats that trainers load without help").
    exports: list[ExportName] = Field(default_factory=lambda: ["alpaca_jsonl", "sharegpt", "openai", "parquet",
                                                               "hf_disk", "text"])
    # Prepended to every conversation that has no system message of its own; None adds nothing.
    system_prompt: str | None = None
    # No paper fixes a held-out share for SFT data; 5% is the common choice (alpaca-lora holds out 2,000 of
    # Alpaca's 52K, about 4%).
    validation_ratio: float = Field(0.05, ge=0.0, lt=1.0)
    # Each source stage (seeds, self_instruct, evol_instruct) keeps its share in validation.
    stratify_by_stage: bool = True
    # chatml | llama3 | alpaca (prompts/chat/<name>.j2), a .j2 file, or a tokenizer directory (its own template).
    chat_template: str = "chatml"
    # Drop examples estimated over this many tokens (None keeps all); see pipeline/export/tokens.py.
    max_tokens: int | None = Field(None, ge=1)
    card: CardConfig = Field(default_factory=CardConfig)
    # A Hub dataset repo id ("user/name") to upload the export to; skipped (with a note in stats) offline.
    push_to_hub: str | None = None


class FormatStage(Stage):
    name = "format"
    config_cls = FormatConfig

    def __init__(self, config: FormatConfig, context: StageContext):
        super().__init__(config, context)
        self.config: FormatConfig = config
        self._renderer: ChatRenderer | None = None
        self._texts: dict[str, str] = {}

    @property
    def renderer(self) -> ChatRenderer:
        if self._renderer is None:
            self._renderer = ChatRenderer(self.config.chat_template, self.context.prompts_dir)
        return self._renderer

    def input_fingerprint(self) -> str:
        """The chat template's text: editing prompts/chat/*.j2 must redo the `text` export."""
        if "text" not in self.config.exports:
            return ""
        return self.renderer.fingerprint()

    def run(self, records: list[Record]) -> StageResult:
        cfg = self.config
        result = StageResult()
        good: list[Record] = []
        if "text" in cfg.exports:
            self.renderer.check()  # a broken template fails here once, not once per record
        # Cheap per record: in this process locally (workers=1); spread over the cluster on Ray.
        conversions = executor_of(self.context).map_batches(
            partial(convert_batch, cfg, self.context.prompts_dir), records, workers=1)
        for rec, conv in zip(records, conversions, strict=True):
            if conv.drop is not None:
                reason, value, detail = conv.drop
                result.reject(rec, self.name, reason, value, **detail)
                continue
            if conv.text is not None:
                self._texts[rec.id] = conv.text
            good.append(rec)

        sources = [source_stage(r) for r in good]
        splits = assign_splits([r.id for r in good], cfg.validation_ratio, self.context.rng(self.name),
                               sources if cfg.stratify_by_stage else None)
        for rec, src, split in zip(good, sources, splits):
            # Content is unchanged (so is the id): only the split and the source stage are added.
            result.kept.append(rec.model_copy(update={"meta": {**rec.meta, "split": split, "source_stage": src}}))
        result.stats = {
            "splits": {s: splits.count(s) for s in ("train", "validation")},
            "by_source_stage": {src: {s: sum(1 for x, y in zip(sources, splits) if x == src and y == s)
                                      for s in ("train", "validation")} for src in sorted(set(sources))},
            "multi_turn": sum(1 for r in good if r.messages),
            "exports": list(cfg.exports),
        }
        return result

    def write_artifacts(self, result: StageResult, run_root: Path) -> None:
        """run_root/export/: every chosen format per split, README.md (the card), exports.json."""
        from pipeline.export.writer import ExportWriter

        if "text" in self.config.exports:
            for rec in result.kept:
                if rec.id not in self._texts:
                    self._texts[rec.id] = self.renderer.render(record_messages(rec, self.config.system_prompt))
        manifest = _read_json(run_root / "manifest.json")
        counts = {"counts": {"in": len(result.kept) + len(result.rejected), "kept": len(result.kept),
                             "rejected": len(result.rejected)},
                  "rejections_by_reason": result.rejection_counts()}
        summary = ExportWriter(self.config, run_root, self._texts).write(result.kept, manifest, counts)
        result.stats["export"] = summary


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
