"""The evol_instruct stage: rewrites instructions into harder or rarer ones, round after round, and drops
failed evolutions by the four elimination rules of Xu et al. (2023, "WizardLM", sections 3.1-3.3)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.config_base import StrictModel
from pipeline.evol.elimination import (
    COPIED_PROMPT_PHRASES,
    STRUGGLE_MAX_WORDS,
    copied_prompt_phrase,
    is_identical,
    only_stopwords,
    struggle_word_count,
)
from pipeline.evol.operations import INPUT_FORMATS, OPERATIONS, choose_operation
from pipeline.evol.parse import parse_equality, parse_rewrite, strip_labels
from pipeline.evol.prompts import (
    RESPONSE_ASPECTS,
    equality_messages,
    evolution_messages,
    improve_response_messages,
    prompt_text,
    response_messages,
)
from pipeline.generators.base import Generation, GenerationRequest, SamplingParams
from pipeline.generators.config import SamplingOverrides
from pipeline.generators.factory import sampling
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class OperationWeights(StrictModel):
    """Relative weight of each operation; the paper picks one of the six at random, so all default to 1."""

    add_constraints: float = Field(1.0, ge=0)
    deepening: float = Field(1.0, ge=0)
    concretizing: float = Field(1.0, ge=0)
    increase_reasoning: float = Field(1.0, ge=0)
    complicate_input: float = Field(1.0, ge=0)
    breadth: float = Field(1.0, ge=0)

    def weights(self) -> list[float]:
        return [getattr(self, op) for op in OPERATIONS]


def _creative_sampling() -> SamplingOverrides:
    # The authors' released script calls the model with temperature 1 and top_p 0.95 (WizardLM repository,
    # Evol_Instruct/openai_access.py).
    return SamplingOverrides(temperature=1.0, top_p=0.95)


class EvolInstructConfig(StageConfig):
    # M = 4 rounds: four rounds over Alpaca's 52K gave the ~250K of WizardLM (Xu et al., 2023, section 4.1).
    rounds: int = Field(4, ge=1, le=50)
    operations: OperationWeights = Field(default_factory=OperationWeights)
    # Data formats complicate input may add, one drawn per call (Xu et al., 2023, Appendix A examples).
    input_formats: list[str] = Field(default_factory=lambda: list(INPUT_FORMATS), min_length=1)
    # Output: the stage's input records as they came, then the successful evolutions of all rounds (or of
    # the last round only).
    keep_inputs: bool = True
    output: Literal["all", "last"] = "all"
    # Evolve only the first N input records (cost control); the rest pass through when keep_inputs is on.
    max_roots: int | None = Field(None, ge=1)
    # Elimination rules (Xu et al., 2023, section 3.3), each can be switched off.
    eliminate_no_gain: bool = True  # rule 1: the judge finds the evolved instruction equal to its original
    eliminate_struggle: bool = True  # rule 2: the response says "sorry" and is short
    struggle_max_words: int = Field(STRUGGLE_MAX_WORDS, ge=1)  # "shorter than 80 words"
    eliminate_stopwords: bool = True  # rule 3: the response is only punctuation and stop words
    eliminate_copied_words: bool = True  # rule 4: the instruction copies words of the evolving prompt
    copied_phrases: list[str] = Field(default_factory=lambda: list(COPIED_PROMPT_PHRASES))
    # Send prompts/evol/respond.j2 as the system message when answering (the authors' script sends a short
    # helpful-assistant system message with every call); off sends the evolved instruction alone.
    respond_system_prompt: bool = True
    # Response evolution: one more call per survivor that improves one aspect of its answer.
    evolve_responses: bool = False
    evolve_sampling: SamplingOverrides = Field(default_factory=_creative_sampling)
    judge_sampling: SamplingOverrides = Field(
        default_factory=lambda: SamplingOverrides(temperature=0.0, max_tokens=16))
    respond_sampling: SamplingOverrides = Field(default_factory=_creative_sampling)
    improve_sampling: SamplingOverrides = Field(default_factory=_creative_sampling)

    @model_validator(mode="after")
    def _some_operation(self) -> EvolInstructConfig:
        if sum(self.operations.weights()) <= 0:
            raise ValueError("evol_instruct.operations: give at least one operation a weight above 0")
        return self


@dataclass
class _Member:
    """A pool entry: the current form of one root instruction and the operations that led to it."""

    record: Record
    root: Record
    ops: list[str] = field(default_factory=list)


@dataclass
class _Attempt:
    """One evolution of one pool member in one round, carried through build, call, parse and elimination."""

    member: _Member
    op: str
    round: int
    data_format: str | None = None
    rewrite: str | None = None
    response: str = ""
    response_gen: Generation | None = None
    evolve_gen: Generation | None = None
    aspect: str | None = None
    failure: tuple[str, Any, dict[str, Any]] | None = None
    # An improvement that failed for good or was cut off: (reason, value, its text); the first answer stays.
    improve_lost: tuple[str, Any, str] | None = None
    first_finish_reason: str | None = None  # of the answer an improvement replaced ("length": it was cut off)

    def fail(self, reason: str, value: Any, **detail: Any) -> None:
        self.failure = (reason, value, detail)

    @property
    def text(self) -> str:
        return prompt_text(self.member.record)


def _alive(attempts: list[_Attempt]) -> list[_Attempt]:
    return [a for a in attempts if a.failure is None]


def _distinct_samples(requests: list[GenerationRequest], stride: int = 1) -> list[GenerationRequest]:
    """The k-th repeat of an equal request in one batch (two roots with the same prompt drawing the same
    operation) becomes sample index + k * stride: each repeat is paid and cached on its own, so a resumed
    run reads back the answer each one got, not one cached answer for both."""
    seen: Counter[GenerationRequest] = Counter()
    out = []
    for req in requests:
        k = seen[req]
        seen[req] += 1
        out.append(replace(req, sample_index=req.sample_index + k * stride) if k else req)
    return out


class _Counters:
    """Attempts, successes and eliminations by reason, per operation and per round, for the manifest."""

    def __init__(self) -> None:
        self.per_op: dict[str, dict[str, Any]] = {op: _blank() for op in OPERATIONS}
        self.per_round: list[dict[str, Any]] = []
        self.eliminated: dict[str, int] = {}

    def start_round(self, number: int, pool: int) -> dict[str, Any]:
        entry = {"round": number, "pool": pool, **_blank(), "ops": {}}
        self.per_round.append(entry)
        return entry

    def count(self, attempt: _Attempt) -> None:
        entry = self.per_round[-1]
        entry["ops"][attempt.op] = entry["ops"].get(attempt.op, 0) + 1
        for bucket in (self.per_op[attempt.op], entry):
            bucket["attempts"] += 1
            if attempt.failure is None:
                bucket["successes"] += 1
            else:
                reason = attempt.failure[0]
                bucket["eliminated"][reason] = bucket["eliminated"].get(reason, 0) + 1
        if attempt.failure is not None:
            self.eliminated[attempt.failure[0]] = self.eliminated.get(attempt.failure[0], 0) + 1


def _blank() -> dict[str, Any]:
    return {"attempts": 0, "successes": 0, "eliminated": {}}


class EvolInstructStage(Stage):
    """Each round draws one operation per pool member, evolves the whole pool in one batch, applies rule 4
    (copied prompt words) and rule 1 (equality judge, one batch), answers the survivors (one batch) and
    applies rules 2 and 3 to the answers. A success replaces its parent in the pool; a failure is a
    rejection and leaves the parent in the pool for the next round.

    A record's `input` is folded into the prompt below its instruction (the paper evolves the whole prompt),
    so evolved records carry everything in `instruction` and have an empty `input`. The answer is asked for
    by sending the evolved instruction itself as the user message.
    """

    name = "evol_instruct"
    config_cls = EvolInstructConfig
    uses_generator = True
    config: EvolInstructConfig

    # -- the run
    def run(self, records: list[Record]) -> StageResult:
        cfg = self.config
        rng = self.context.rng(self.name)
        result = StageResult()
        counters = _Counters()
        evolvable = [r for r in records if r.instruction.strip()]
        roots = evolvable[: cfg.max_roots] if cfg.max_roots else evolvable
        pool = [_Member(record=r, root=r) for r in roots]
        by_round: list[list[Record]] = []
        for number in range(1, cfg.rounds + 1):
            if not pool:
                break
            counters.start_round(number, len(pool))
            attempts = self._evolve(number, pool, rng)
            self._judge(number, attempts)
            self._respond(number, attempts)
            if cfg.evolve_responses:
                self._improve(number, attempts, rng)
            evolved, pool = self._settle(attempts, result, counters)
            by_round.append(evolved)

        if cfg.keep_inputs:
            result.kept.extend(records)
        chosen = by_round[-1:] if cfg.output == "last" else by_round
        for evolved in chosen:
            result.kept.extend(evolved)
        result.stats = self._stats(records, roots, counters, by_round)
        return result

    # -- steps of one round (each one batched generator call, answers read in request order)
    def _evolve(self, number: int, pool: list[_Member], rng: random.Random) -> list[_Attempt]:
        cfg = self.config
        weights = cfg.operations.weights()
        attempts: list[_Attempt] = []
        for member in pool:  # every draw of the round in pool order: reruns repeat them exactly
            op = choose_operation(rng, OPERATIONS, weights)
            data_format = rng.choice(cfg.input_formats) if op == "complicate_input" else None
            attempts.append(_Attempt(member=member, op=op, round=number, data_format=data_format))
        params = self._params(cfg.evolve_sampling)
        requests = _distinct_samples([
            GenerationRequest.chat(
                evolution_messages(a.op, a.text, a.data_format, self.context.prompts_dir),
                params, tag=f"{self.name}.evolve",
                # A failed evolution goes back to the pool: a new sample index keeps the next round from
                # reading the same cached reply when it draws the same operation again.
                sample_index=number - 1)
            for a in attempts
        ], stride=cfg.rounds)
        gens = self.generator.generate(requests, desc=f"evol round {number}/{cfg.rounds}: evolve")
        for a, gen in zip(attempts, gens):
            a.evolve_gen = gen
            if not gen.ok:
                a.fail("generation_failed", gen.error, step="evolve")
                continue
            parsed = parse_rewrite(gen.text, gen.finish_reason)
            if not parsed.ok:
                a.fail(parsed.reason or "parse_failed", parsed.value, step="evolve", raw_reply=gen.text)
                continue
            a.rewrite = parsed.text
            phrase = copied_prompt_phrase(a.rewrite, cfg.copied_phrases) if cfg.eliminate_copied_words else None
            if phrase is not None:
                a.fail("copied_prompt_words", phrase, step="evolve")
        return attempts

    def _judge(self, number: int, attempts: list[_Attempt]) -> None:
        """Rule 1: a rewrite that repeats its original, or that the judge calls equal, gains nothing."""
        if not self.config.eliminate_no_gain:
            return
        pending = []
        for a in _alive(attempts):
            if is_identical(a.text, a.rewrite or ""):
                a.fail("no_information_gain", "identical", step="equality")
            else:
                pending.append(a)
        if not pending:
            return
        params = self._params(self.config.judge_sampling)
        requests = _distinct_samples([GenerationRequest.chat(
            equality_messages(a.text, a.rewrite or "", self.context.prompts_dir), params,
            tag=f"{self.name}.equality") for a in pending])
        gens = self.generator.generate(requests, desc=f"evol round {number}/{self.config.rounds}: judge")
        for a, gen in zip(pending, gens):
            if not gen.ok:
                a.fail("generation_failed", gen.error, step="equality")
                continue
            equal = parse_equality(gen.text)
            if equal is None:
                a.fail("parse_failed", "equality_verdict", step="equality", raw_reply=gen.text)
            elif equal:
                a.fail("no_information_gain", "Equal", step="equality", raw_reply=gen.text)

    def _respond(self, number: int, attempts: list[_Attempt]) -> None:
        """Answer each surviving rewrite, then rules 2 (model struggled) and 3 (only stop words)."""
        cfg = self.config
        pending = _alive(attempts)
        if not pending:
            return
        params = self._params(cfg.respond_sampling)
        requests = _distinct_samples([GenerationRequest.chat(
            response_messages(a.rewrite or "", self.context.prompts_dir, cfg.respond_system_prompt),
            params, tag=f"{self.name}.respond") for a in pending])
        gens = self.generator.generate(requests, desc=f"evol round {number}/{cfg.rounds}: respond")
        for a, gen in zip(pending, gens):
            a.response_gen = gen
            if not gen.ok:
                a.fail("generation_failed", gen.error, step="respond")
                continue
            a.response = gen.text.strip()
            words = struggle_word_count(a.response, cfg.struggle_max_words) if cfg.eliminate_struggle else None
            if words is not None:
                a.fail("model_struggled", words, step="respond")
            elif cfg.eliminate_stopwords and only_stopwords(a.response):
                a.fail("response_only_stopwords", a.response[:80], step="respond")

    def _improve(self, number: int, attempts: list[_Attempt], rng: random.Random) -> None:
        """Response evolution: a better answer replaces the first one; a failed improvement keeps the first."""
        pending = _alive(attempts)
        for a in pending:
            a.aspect = rng.choice(RESPONSE_ASPECTS)
        if not pending:
            return
        params = self._params(self.config.improve_sampling)
        requests = _distinct_samples([GenerationRequest.chat(
            improve_response_messages(a.rewrite or "", a.response, a.aspect or "", self.context.prompts_dir),
            params, tag=f"{self.name}.improve_response") for a in pending])
        gens = self.generator.generate(requests, desc=f"evol round {number}/{self.config.rounds}: improve")
        for a, gen in zip(pending, gens):
            if not gen.ok or gen.truncated:
                a.improve_lost = ("generation_failed", gen.error, "") if not gen.ok else (
                    "truncated_output", gen.completion_tokens, gen.text)
            improved = strip_labels(gen.text) if gen.ok and not gen.truncated else ""
            if improved and not only_stopwords(improved):
                a.first_finish_reason = a.response_gen.finish_reason if a.response_gen else None
                a.response, a.response_gen = improved, gen
            else:
                a.aspect = None

    # -- records, rejections, the next pool
    def _settle(self, attempts: list[_Attempt], result: StageResult, counters: _Counters
                ) -> tuple[list[Record], list[_Member]]:
        evolved: list[Record] = []
        next_pool: list[_Member] = []
        for a in attempts:
            counters.count(a)
            if a.failure is None:
                record = self._evolved_record(a)
                evolved.append(record)
                next_pool.append(_Member(record=record, root=a.member.root, ops=[*a.member.ops, a.op]))
                if a.improve_lost is not None:
                    # Every request that failed for good or was cut off leaves a rejection (the runner counts
                    # the failed ones): the lost improvement, beside the kept first answer.
                    reason, value, text = a.improve_lost
                    lost = Record(instruction=record.instruction, input="", output=text, stage=self.name,
                                  parent_ids=record.parent_ids, lineage=record.lineage, meta=dict(record.meta))
                    result.reject(lost, self.name, reason, value, op=a.op, round=a.round, step="improve_response",
                                  root_id=a.member.root.id, parent_id=a.member.record.id)
                continue
            # A failed evolution returns the original to the pool (Xu et al., 2023, section 3.3).
            next_pool.append(a.member)
            reason, value, detail = a.failure
            failed = self._evolved_record(a) if a.rewrite is not None else a.member.record
            result.reject(failed, self.name, reason, value, op=a.op, round=a.round,
                          depth=len(a.member.ops) + 1, root_id=a.member.root.id,
                          parent_id=a.member.record.id, **detail)
        return evolved, next_pool

    def _evolved_record(self, a: _Attempt) -> Record:
        evol: dict[str, Any] = {"root_id": a.member.root.id, "depth": len(a.member.ops) + 1, "op": a.op,
                                "round": a.round}
        if a.data_format is not None:
            evol["input_format"] = a.data_format
        if a.aspect is not None:
            evol.update(response_aspect=a.aspect, first_answer_finish_reason=a.first_finish_reason)
        meta: dict[str, Any] = {"evol": evol}
        if "category" in a.member.root.meta:
            meta["category"] = a.member.root.meta["category"]
        if a.evolve_gen is not None:
            meta["evolve_finish_reason"] = a.evolve_gen.finish_reason
            meta["model"] = a.evolve_gen.model
        if a.response_gen is not None:
            meta.update(model=a.response_gen.model, finish_reason=a.response_gen.finish_reason,
                        prompt_tokens=a.response_gen.prompt_tokens,
                        completion_tokens=a.response_gen.completion_tokens)
        return Record(instruction=a.rewrite or "", input="", output=a.response, stage=self.name,
                      parent_ids=[a.member.record.id], lineage=[*a.member.ops, a.op], meta=meta)

    def _params(self, overrides: SamplingOverrides) -> SamplingParams:
        if self.context.generator_config is None:  # a bare context in tests: the library defaults
            return SamplingParams()
        return sampling(self.context.generator_config, overrides)

    def _stats(self, records: list[Record], roots: list[Record], counters: _Counters,
               by_round: list[list[Record]]) -> dict[str, Any]:
        depths: dict[str, int] = {}
        for evolved in by_round:
            for r in evolved:
                key = str(r.meta["evol"]["depth"])
                depths[key] = depths.get(key, 0) + 1
        return {
            "inputs": len(records),
            "roots": len(roots),
            "skipped_no_instruction": sum(1 for r in records if not r.instruction.strip()),
            "rounds_run": len(by_round),
            "evolved": sum(len(e) for e in by_round),
            "evolved_by_depth": depths,
            "eliminated": dict(sorted(counters.eliminated.items())),
            "per_op": counters.per_op,
            "per_round": counters.per_round,
        }

