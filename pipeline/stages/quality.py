"""The quality stage: heuristic filters over all cores, then an optional model judge; every drop has a reason."""

from __future__ import annotations

import time
from collections import Counter

from pydantic import Field

from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.factory import sampling
from pipeline.quality.blacklist import BlacklistConfig
from pipeline.quality.chain import FILTERS, available_cores, run_filters
from pipeline.quality.copying import CopyConfig
from pipeline.quality.encoding import EncodingConfig
from pipeline.quality.judge import JudgeConfig, build_judge_prompt, parse_judge_reply
from pipeline.quality.language import LanguageConfig
from pipeline.quality.length import EmptyOutputConfig, LengthConfig
from pipeline.quality.refusal import RefusalConfig
from pipeline.quality.repetition import RepetitionConfig
from pipeline.quality.truncation import TruncationConfig
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig, StageContext, executor_of


class QualityConfig(StageConfig):
    """One section per filter (each with `enabled`); defaults and their sources are in pipeline/quality/."""

    empty_output: EmptyOutputConfig = Field(default_factory=EmptyOutputConfig)
    encoding: EncodingConfig = Field(default_factory=EncodingConfig)
    length: LengthConfig = Field(default_factory=LengthConfig)
    truncation: TruncationConfig = Field(default_factory=TruncationConfig)
    copying: CopyConfig = Field(default_factory=CopyConfig)
    refusal: RefusalConfig = Field(default_factory=RefusalConfig)
    blacklist: BlacklistConfig = Field(default_factory=BlacklistConfig)
    repetition: RepetitionConfig = Field(default_factory=RepetitionConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    # Processes for the filters; None uses every core available to this process.
    num_proc: int | None = Field(None, ge=1)


class QualityStage(Stage):
    name = "quality"
    config_cls = QualityConfig
    config: QualityConfig

    def __init__(self, config: QualityConfig, context: StageContext):
        super().__init__(config, context)
        # Read by the runner on the instance: a generator is needed only when the judge is on.
        self.uses_generator = config.judge.enabled

    def run(self, records: list[Record]) -> StageResult:
        result = StageResult()
        procs = min(self.config.num_proc or available_cores(), max(len(records), 1))
        executor = executor_of(self.context)
        started = time.monotonic()
        outcomes = run_filters(records, self.config, num_proc=procs, executor=executor)
        filter_s = time.monotonic() - started

        survivors: list[Record] = []
        dropped_by = Counter(o.filter for o in outcomes if o.filter)
        for record, outcome in zip(records, outcomes):
            annotated = record.model_copy(update={"meta": {**record.meta, **outcome.meta}})
            if outcome.filter is None:
                survivors.append(annotated)
            else:
                result.reject(annotated, self.name, outcome.reason, outcome.value, filter=outcome.filter,
                              **outcome.detail)

        result.stats = {
            "num_proc": procs,
            "executor": executor.name,
            "filters": self._filter_counts(len(records), dropped_by),
            "languages": dict(Counter(str(o.meta.get("lang", "unchecked")) for o in outcomes).most_common()),
            "filter_wall_s": round(filter_s, 3),
            "filter_records_per_s": round(len(records) / filter_s, 1) if filter_s > 0 else None,
        }
        if self.config.judge.enabled and survivors:
            survivors = self._judge(survivors, result)
        result.kept = survivors
        return result

    def _filter_counts(self, total: int, dropped_by: Counter) -> dict[str, dict[str, int]]:
        """Per filter: records it saw (those earlier filters kept) and records it dropped."""
        counts: dict[str, dict[str, int]] = {}
        remaining = total
        for name in FILTERS:
            if not getattr(self.config, name).enabled:
                continue
            counts[name] = {"checked": remaining, "dropped": dropped_by.get(name, 0)}
            remaining -= dropped_by.get(name, 0)
        return counts

    # -- model judge: build -> call -> parse
    def _judge(self, records: list[Record], result: StageResult) -> list[Record]:
        cfg = self.config.judge
        requests = [self._request(build_judge_prompt(r, self.context.prompts_dir)) for r in records]
        generations = self.generator.generate(requests, desc="quality judge")
        kept: list[Record] = []
        scores: Counter = Counter()
        for record, gen in zip(records, generations):  # request order, so reruns decide the same
            if not gen.ok:
                result.reject(record, self.name, "generation_failed", gen.error, filter="judge")
                continue
            verdict = parse_judge_reply(gen.text)
            scored = record.model_copy(update={"meta": {
                **record.meta, "judge_score": verdict.score, "judge_reason": verdict.reason,
                "judge_model": gen.model, "judge_finish_reason": gen.finish_reason}})
            scores[str(verdict.score)] += 1
            if verdict.score is None:
                if cfg.on_unparseable == "reject":
                    result.reject(scored, self.name, "judge_unparseable", gen.text.strip()[:80], filter="judge",
                                  raw_reply=gen.text)
                    continue
                scored.meta["judge_flag"] = "unparseable"
            elif verdict.score < cfg.threshold:
                result.reject(scored, self.name, "judge_score_below_threshold", verdict.score, filter="judge",
                              threshold=cfg.threshold, judge_reason=verdict.reason)
                continue
            kept.append(scored)
        result.stats["judge"] = {
            "requests": len(requests), "threshold": cfg.threshold, "kept": len(kept),
            "dropped": len(records) - len(kept), "failed": sum(1 for g in generations if not g.ok),
            "scores": dict(sorted(scores.items())),
        }
        return kept

    def _request(self, prompt: str) -> GenerationRequest:
        gen_config = self.context.generator_config
        params = sampling(gen_config, self.config.judge.sampling) if gen_config else SamplingParams(
            temperature=0.0, max_tokens=128)
        if gen_config is not None and gen_config.mode == "completion":
            return GenerationRequest.completion(prompt, params, tag="quality.judge")
        return GenerationRequest.chat([{"role": "user", "content": prompt}], params, tag="quality.judge")
