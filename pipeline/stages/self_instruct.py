"""The self_instruct stage: grows a task pool from the seeds as Self-Instruct does (or Alpaca's batched way).

Input: seed records, one per instance, grouped into tasks by meta["task_id"]. Output: the seed records
unchanged (unless `keep_seeds` is false, so later stages see seeds plus generated tasks, as Alpaca's dataset
is its whole pool), then one record per kept instance of every accepted new task, with meta task_id,
is_classification, icl_ids, rouge_l_pool, rouge_l_seed, nearest_id, model, sampling and finish_reason.
Every dropped candidate, instance or task is a rejection with its reason and deciding value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any, Literal

from pydantic import Field

from pipeline.errors import InputDataError
from pipeline.generators.base import Generation, GenerationRequest, SamplingParams
from pipeline.generators.config import GeneratorConfig, SamplingOverrides
from pipeline.generators.factory import sampling
from pipeline.progress import progress_bar
from pipeline.records import Record, StageResult
from pipeline.self_instruct import prompts
from pipeline.self_instruct.filters import (
    InstanceFilterConfig,
    InstructionFilterConfig,
    Problem,
    blacklist_for,
    filter_instances,
    instruction_problem,
)
from pipeline.self_instruct.parsing import (
    ParsedTask,
    parse_alpaca_tasks,
    parse_instances,
    parse_instruction_list,
    parse_yes_no,
)
from pipeline.self_instruct.pool import Novelty, TaskPool
from pipeline.self_instruct.tasks import (
    Instance,
    Task,
    classification_examples,
    instance_demos,
    new_task_id,
    tasks_from_records,
)
from pipeline.stages.base import Stage, StageConfig

_RAW_LIMIT = 2000  # characters of a raw reply kept in a rejection's detail
# An instruction accepted into the pool, its novelty scores, and the lineage of the request that made it.
_Accepted = tuple[Task, Novelty, dict[str, Any]]


class SelfInstructConfig(StageConfig):
    # "self_instruct": Wang et al. (2023) bootstrap + classification + instances; "alpaca": Taori et al.
    # (2023), whole tasks 20 to a request, no classification or instance step.
    mode: Literal["self_instruct", "alpaca"] = "self_instruct"
    # Stop conditions, whichever comes first. The paper grew 52K tasks; the default is a small demo run.
    target_tasks: int = Field(100, ge=1)
    # Instruction-generation requests (bootstrap or Alpaca batch); classification and instance calls follow.
    max_requests: int = Field(1000, ge=1)
    # Prompt plus completion tokens of every call this stage makes; None: no budget.
    max_total_tokens: int | None = Field(None, ge=1)
    # Requests sent together per round (both reference scripts used request_batch_size=5).
    batch_size: int = Field(8, ge=1, le=1024)
    # Self-Instruct: 8 in-context instructions, 2 of them model-generated once any exist.
    num_prompt_instructions: int = Field(8, ge=1)
    num_machine_instructions: int = Field(2, ge=0)
    # Self-Instruct stopped at item 16 after 8 shown: at most 7 new instructions per request.
    max_new_per_request: int = Field(7, ge=1)
    # Self-Instruct and Alpaca: rejected when ROUGE-L F (rouge_score, no stemming) > 0.7 to any pool task.
    rouge_l_threshold: float = Field(0.7, gt=0, le=1)
    # The rule is to drop only a reply's last item when it was cut off by the token limit;
    # Self-Instruct's script dropped such a reply whole (set true for that).
    drop_truncated_reply: bool = False
    # Self-Instruct's classification prompt: 12 classification and 19 other labelled examples.
    classification_positive_examples: int = Field(12, ge=0)
    classification_negative_examples: int = Field(19, ge=0)
    # Seed tasks shown as worked examples in each instance prompt.
    instance_demos: int = Field(3, ge=0)
    # Alpaca: 3 seed tasks shown, a list of 20 asked for (so at most 17 new, stop at item 20).
    alpaca_prompt_tasks: int = Field(3, ge=1)
    alpaca_list_size: int = Field(20, ge=2)
    keep_seeds: bool = True
    filters: InstructionFilterConfig = Field(default_factory=InstructionFilterConfig)
    instance_filters: InstanceFilterConfig = Field(default_factory=InstanceFilterConfig)
    # Self-Instruct bootstrap: temperature 0.7, top_p 0.5, presence_penalty 2, max_tokens 1024.
    bootstrap_sampling: SamplingOverrides = Field(default_factory=lambda: SamplingOverrides(
        temperature=0.7, top_p=0.5, presence_penalty=2.0, frequency_penalty=0.0, max_tokens=1024))
    # Self-Instruct classification: greedy, 3 tokens ("Yes"/"No"), stop at a newline.
    classification_sampling: SamplingOverrides = Field(default_factory=lambda: SamplingOverrides(
        temperature=0.0, presence_penalty=0.0, frequency_penalty=0.0, max_tokens=3, stop=["\n", "Task:"]))
    # Self-Instruct instances: temperature 0, presence_penalty 1.5, 300-350 tokens.
    instance_sampling: SamplingOverrides = Field(default_factory=lambda: SamplingOverrides(
        temperature=0.0, presence_penalty=1.5, frequency_penalty=0.0, max_tokens=350))
    # Alpaca: temperature 1.0, top_p 1.0, max_tokens 3072.
    alpaca_sampling: SamplingOverrides = Field(default_factory=lambda: SamplingOverrides(
        temperature=1.0, top_p=1.0, presence_penalty=0.0, frequency_penalty=0.0, max_tokens=3072))


class SelfInstructStage(Stage):
    name = "self_instruct"
    config_cls = SelfInstructConfig
    uses_generator = True
    config: SelfInstructConfig

    def run(self, records: list[Record]) -> StageResult:
        cfg = self.config
        seeds = tasks_from_records(records)
        if not seeds:
            raise InputDataError("self_instruct needs seed tasks with an instruction: check seeds.paths")
        self._pool = TaskPool(seeds)
        self._rng = self.context.rng(self.name)
        self._result = StageResult(kept=list(records) if cfg.keep_seeds else [])
        self._blacklist = blacklist_for(cfg.mode, cfg.filters.blacklist)
        self._counts: Counter[str] = Counter()
        self._tokens = 0
        self._tasks = 0
        self._clf_examples = classification_examples(seeds, cfg.classification_positive_examples,
                                                     cfg.classification_negative_examples)
        self._demos = {flag: instance_demos(seeds, flag, cfg.instance_demos) for flag in (True, False)}
        stop_reason = "max_requests"
        with progress_bar(cfg.target_tasks, f"{self.name} ({cfg.mode})", extra_fields=("rate", "rejects"),
                          status="{task.fields[rate]} {task.fields[rejects]}") as bar:
            while self._counts["requests"] < cfg.max_requests:
                before = self._tasks
                n = min(cfg.batch_size, cfg.max_requests - self._counts["requests"])
                self._counts["rounds"] += 1
                if cfg.mode == "alpaca":
                    self._alpaca_round(n)
                else:
                    self._self_instruct_round(n)
                bar.advance(self._tasks - before, rate=f"acc {self._acceptance_rate():.0%}",
                            rejects=_top_reasons(self._result.rejection_counts()))
                if self._tasks >= cfg.target_tasks:
                    stop_reason = "target_reached"
                    break
                if cfg.max_total_tokens is not None and self._tokens >= cfg.max_total_tokens:
                    stop_reason = "token_budget"
                    break
        self._result.stats = self._stats(stop_reason, len(seeds))
        return self._result

    # -- one round of each mode
    def _self_instruct_round(self, n: int) -> None:
        cfg = self.config
        shown = cfg.num_prompt_instructions
        params = self._params(cfg.bootstrap_sampling, prompts.bootstrap_stop(shown, cfg.max_new_per_request))
        icls = [self._pool.sample_prompt_tasks(self._rng, shown, cfg.num_machine_instructions) for _ in range(n)]
        gens = self._call([prompts.bootstrap_prompt([t.instruction for t in icl], self.context.prompts_dir)
                           for icl in icls], params, "bootstrap", first_index=self._counts["requests"])
        self._counts["requests"] += n
        accepted: list[_Accepted] = []
        for icl, gen in zip(icls, gens):
            base = self._lineage(icl, gen, params)
            if not gen.ok:
                self._reject(Record(stage=self.name, meta=base), "generation_failed", gen.error, step="bootstrap")
                continue
            parsed = parse_instruction_list(gen.text, len(icl) + 1, cfg.max_new_per_request)
            self._counts["beyond_limit"] += parsed.beyond_limit
            self._counts["stray_lines"] += len(parsed.stray)
            if not parsed.items:
                # A reply cut off before its first whole item is a truncation, not a parse failure.
                reason = "truncated_item" if gen.truncated else "parse_failed"
                self._reject(Record(stage=self.name, meta=base), reason, None, raw_reply=gen.text[:_RAW_LIMIT])
                continue
            cut = len(parsed.items) if cfg.drop_truncated_reply else 1
            items = [(text, gen.truncated and k >= len(parsed.items) - cut) for k, text in enumerate(parsed.items)]
            for text, truncated in items:
                found = self._consider(text, base, truncated, pending=len(accepted))
                if found is not None:
                    accepted.append((*found, base))
        if accepted:
            self._generate_instances(self._classify(accepted))

    def _alpaca_round(self, n: int) -> None:
        cfg = self.config
        params = self._params(cfg.alpaca_sampling, prompts.alpaca_stop(cfg.alpaca_list_size))
        icls = [self._pool.sample_seed_tasks(self._rng, cfg.alpaca_prompt_tasks) for _ in range(n)]
        gens = self._call([prompts.alpaca_prompt(icl, cfg.alpaca_list_size, self.context.prompts_dir)
                           for icl in icls], params, "alpaca", first_index=self._counts["requests"])
        self._counts["requests"] += n
        for icl, gen in zip(icls, gens):
            base = self._lineage(icl, gen, params)
            if not gen.ok:
                self._reject(Record(stage=self.name, meta=base), "generation_failed", gen.error, step="alpaca")
                continue
            blocks = parse_alpaca_tasks(gen.text, len(icl) + 1).blocks
            for k, block in enumerate(blocks):
                truncated = gen.truncated and (cfg.drop_truncated_reply or k == len(blocks) - 1)
                if isinstance(block, str):
                    self._counts["candidates"] += 1
                    reason = "truncated_item" if truncated else "parse_failed"
                    self._reject(Record(stage=self.name, meta=base), reason, None, raw_reply=block[:_RAW_LIMIT])
                    continue
                self._consider_alpaca(block, base, truncated)

    # -- candidates
    def _consider(self, text: str, base: dict[str, Any], truncated: bool, pending: int
                  ) -> tuple[Task, Novelty] | None:
        """Filters, then the novelty check; an accepted instruction joins the pool at once."""
        record = Record(instruction=text, stage=self.name, meta=dict(base))
        if truncated:  # recorded even past the target: every cut-off answer leaves a trace
            self._counts["candidates"] += 1
            self._reject(record, "truncated_item", len(text.split()))
            return None
        if self._tasks + pending >= self.config.target_tasks:
            self._counts["surplus_candidates"] += 1  # the target is met once these tasks get instances
            return None
        self._counts["candidates"] += 1
        problem = instruction_problem(text, self.config.filters, self._blacklist)
        if problem is not None:
            self._reject_problem(record, problem)
            return None
        novelty = self._pool.novelty(text)
        if novelty.rouge_l_pool > self.config.rouge_l_threshold:
            self._reject(record, "rouge_l_too_similar", round(novelty.rouge_l_pool, 4),
                         nearest_id=novelty.nearest_id)
            return None
        task = Task(new_task_id(text), text, is_seed=False)
        self._pool.add(task, novelty)
        self._counts["accepted_instructions"] += 1
        return task, novelty

    def _consider_alpaca(self, block: ParsedTask, base: dict[str, Any], truncated: bool) -> None:
        if self._tasks >= self.config.target_tasks:
            self._counts["surplus_candidates"] += 1
            return
        self._counts["candidates"] += 1
        record = Record(instruction=block.instruction, input=block.input, output=block.output, stage=self.name,
                        meta=dict(base))
        if truncated:
            self._reject(record, "truncated_item", len(block.output.split()))
            return
        problem = instruction_problem(block.instruction, self.config.filters, self._blacklist)
        verdict = filter_instances([Instance(block.input, block.output)], self.config.instance_filters)
        problem = problem or (verdict.rejected[0][1] if verdict.rejected else None)
        if problem is not None:
            self._reject_problem(record, problem)
            return
        novelty = self._pool.novelty(block.instruction)
        if novelty.rouge_l_pool > self.config.rouge_l_threshold:
            self._reject(record, "rouge_l_too_similar", round(novelty.rouge_l_pool, 4),
                         nearest_id=novelty.nearest_id)
            return
        task = Task(new_task_id(block.instruction), block.instruction, [Instance(block.input, block.output)],
                    is_seed=False)
        self._pool.add(task, novelty)
        self._counts["accepted_instructions"] += 1
        self._emit(task, base, novelty, {"mode": "alpaca"})

    # -- classification and instances for the accepted instructions of a round
    def _classify(self, accepted: list[_Accepted]) -> list[_Accepted]:
        """Sets each task's is_classification; returns the tasks whose call succeeded."""
        params = self._params(self.config.classification_sampling, None)
        texts = [prompts.classification_prompt(self._clf_examples, t.instruction, self.context.prompts_dir)
                 for t, _, _ in accepted]
        gens = self._call(texts, params, "classification")
        self._counts["classification_requests"] += len(texts)
        done: list[_Accepted] = []
        for item, gen in zip(accepted, gens):
            task = item[0]
            if not gen.ok:
                self._reject(self._task_record(task), "generation_failed", gen.error, step="classification")
                continue
            answer = parse_yes_no(gen.text)
            if answer is None:
                self._counts["classification_unparsed"] += 1  # Self-Instruct reads anything but "yes" as no
            task.is_classification = bool(answer)
            done.append(item)
        return done

    def _generate_instances(self, todo: list[_Accepted]) -> None:
        cfg = self.config
        max_inst = cfg.instance_filters.max_instances
        params = self._params(cfg.instance_sampling, prompts.instance_stop(max_inst))
        texts = [prompts.instance_prompt(t.instruction, self._demos[t.is_classification], t.is_classification,
                                         max_inst, self.context.prompts_dir) for t, _, _ in todo]
        gens = self._call(texts, params, "instances")
        self._counts["instance_requests"] += len(texts)
        for (task, novelty, base), gen in zip(todo, gens):
            record = self._task_record(task)
            if not gen.ok:
                self._reject(record, "generation_failed", gen.error, step="instances")
                continue
            parsed = parse_instances(gen.text, output_first=task.is_classification)
            if not parsed.order:
                reason = "instance_truncated" if gen.truncated else "parse_failed"
                self._reject(record, reason, None, step="instances", raw_reply=gen.text[:_RAW_LIMIT])
                continue
            instances = list(parsed.instances)
            if gen.truncated:  # the last block was cut off by the token limit
                if parsed.order[-1]:
                    cut = instances.pop()
                    self._reject(self._task_record(task, cut), "instance_truncated", len(cut.output.split()))
                else:
                    parsed.malformed.pop()
                    self._reject(record, "instance_truncated", None)
            for block in parsed.malformed:
                self._reject(record, "parse_failed", None, step="instances", raw_reply=block[:_RAW_LIMIT])
            verdict = filter_instances(instances, cfg.instance_filters)
            for inst, problem in verdict.rejected:
                self._reject_problem(self._task_record(task, inst), problem)
            if verdict.conflict is not None:
                self._reject_problem(record, verdict.conflict)
            elif not verdict.kept:
                self._reject(record, "no_valid_instances", 0)
            else:
                task.instances = verdict.kept
                self._emit(task, base, novelty, {"mode": "self_instruct",
                                                 "instance_finish_reason": gen.finish_reason})

    # -- records, rejections, requests
    def _emit(self, task: Task, base: dict[str, Any], novelty: Novelty, extra: dict[str, Any]) -> None:
        meta = dict(base)
        meta.update(task_id=task.task_id, is_classification=task.is_classification,
                    rouge_l_pool=novelty.rouge_l_pool, rouge_l_seed=novelty.rouge_l_seed,
                    nearest_id=novelty.nearest_id, **extra)
        for k, inst in enumerate(task.instances):
            self._result.kept.append(Record(instruction=task.instruction, input=inst.input, output=inst.output,
                                            stage=self.name, meta={**meta, "instance": k}))
        self._tasks += 1
        self._counts["instances"] += len(task.instances)
        self._counts["classification_tasks"] += int(task.is_classification)

    def _task_record(self, task: Task, inst: Instance | None = None) -> Record:
        return Record(instruction=task.instruction, input=inst.input if inst else "",
                      output=inst.output if inst else "", stage=self.name,
                      meta={"task_id": task.task_id, "is_classification": task.is_classification})

    def _lineage(self, icl: list[Task], gen: Generation, params: SamplingParams) -> dict[str, Any]:
        return {"icl_ids": [t.task_id for t in icl], "model": gen.model or self.generator.model,
                "sampling": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()},
                "finish_reason": gen.finish_reason, "round": self._counts["rounds"]}

    def _reject(self, record: Record, reason: str, value: Any, **detail: Any) -> None:
        self._result.reject(record, self.name, reason, value, **detail)

    def _reject_problem(self, record: Record, problem: Problem) -> None:
        self._reject(record, problem.reason, problem.value, **problem.detail)

    def _params(self, overrides: SamplingOverrides, stop: list[str] | None) -> SamplingParams:
        fixed = {"stop": stop} if stop is not None and overrides.stop is None else {}
        return sampling(self.context.generator_config or GeneratorConfig(), overrides, **fixed)

    def _call(self, texts: list[str], params: SamplingParams, step: str, first_index: int = 0) -> list[Generation]:
        """One batched call. Bootstrap requests are numbered so two identical prompts are two samples."""
        chat = self.context.generator_config is None or self.context.generator_config.mode == "chat"
        tag = f"{self.name}.{step}"
        requests = [GenerationRequest.chat([{"role": "user", "content": t}], params, tag=tag,
                                           sample_index=first_index + i) if chat else
                    GenerationRequest.completion(t, params, tag=tag, sample_index=first_index + i)
                    for i, t in enumerate(texts)]
        gens = self.generator.generate(requests, desc=tag) if requests else []
        self._tokens += sum(g.prompt_tokens + g.completion_tokens for g in gens)
        return gens

    def _acceptance_rate(self) -> float:
        return self._counts["accepted_instructions"] / max(1, self._counts["candidates"])

    def _stats(self, stop_reason: str, seeds: int) -> dict[str, Any]:
        c = self._counts
        return {
            "mode": self.config.mode, "stop_reason": stop_reason, "rounds": c["rounds"],
            "requests": {"generation": c["requests"], "classification": c["classification_requests"],
                         "instances": c["instance_requests"]},
            "seed_tasks": seeds, "candidates": c["candidates"], "accepted_instructions": c["accepted_instructions"],
            "accepted_tasks": self._tasks, "instances": c["instances"],
            "classification_tasks": c["classification_tasks"],
            "acceptance_rate": round(self._acceptance_rate(), 4),
            "rejected_by_reason": self._result.rejection_counts(), "surplus_candidates": c["surplus_candidates"],
            "items_beyond_limit": c["beyond_limit"], "stray_lines": c["stray_lines"],
            "classification_unparsed": c["classification_unparsed"], "tokens": self._tokens,
            "pool_size": len(self._pool), "rouge_l_exact_scores": self._pool.exact_scores,
        }


def _top_reasons(counts: dict[str, int], n: int = 3) -> str:
    return " ".join(f"{reason}={count}" for reason, count in list(counts.items())[:n])
