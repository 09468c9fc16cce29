"""The evol_instruct stage against the local fake server: rounds, elimination rules, lineage, determinism."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.evol.operations import OPERATIONS
from pipeline.generators.factory import make_generator
from pipeline.records import Message, Record, StageResult
from pipeline.runner import Runner
from pipeline.stages.base import StageContext
from pipeline.stages.evol_instruct import EvolInstructStage
from pipeline.testing.fake_server import FakeOpenAIServer, FakeRequest, Reply
from pipeline.testing.responders import default_responder
from pipeline.testing.responders.evol_instruct import EQUALITY_MARK, EVOLVE_MARK, RESPOND_MARK

GRAVITY = Record(instruction="Explain gravity.")
ROOTS = [
    GRAVITY,
    Record(instruction="Sort the numbers in ascending order.", input="3, 1, 2"),
    Record(instruction="Give three tips for staying healthy.", meta={"category": "brainstorming"}),
]
LONG_ANSWER = ("Gravity is the attraction between masses. " * 6).strip()


def _step(request: FakeRequest) -> str:
    text = request.prompt_text
    if EVOLVE_MARK in text:
        return "evolve"
    if EQUALITY_MARK in text:
        return "judge"
    if RESPOND_MARK in text:
        return "respond"
    return "other"


def scripted(first: dict[str, str | Reply] | None = None, always: dict[str, str | Reply] | None = None
             ) -> Callable[[FakeRequest], str | Reply]:
    """Replies from `first` on the first request of a step, from `always` on every one, else the default."""
    first, always = dict(first or {}), dict(always or {})
    lock = threading.Lock()

    def responder(request: FakeRequest) -> str | Reply:
        step = _step(request)
        with lock:
            if step in first:
                return first.pop(step)
        if step in always:
            return always[step]
        return default_responder(request)

    return responder


def run_stage(make_config, tmp_path: Path, server: FakeOpenAIServer, records: list[Record], *overrides: str,
              seed: int = 0, generator_wrapper=None) -> StageResult:
    cfg = make_config(server, *overrides)
    gen = make_generator(cfg.generator, tmp_path)
    try:
        ctx = StageContext(seed=seed, generator=generator_wrapper(gen) if generator_wrapper else gen,
                           generator_config=cfg.generator)
        return EvolInstructStage(cfg.evol_instruct, ctx).run(records)
    finally:
        gen.close()


def evolved(result: StageResult) -> list[Record]:
    return [r for r in result.kept if r.stage == "evol_instruct"]


# -- a plain run against the default responder


def test_default_server_run_writes_evolved_records_and_counts(fake_server, make_config, tmp_path) -> None:
    result = run_stage(make_config, tmp_path, fake_server, ROOTS, "evol_instruct.rounds=2")
    out = evolved(result)
    assert result.kept[:3] == ROOTS  # inputs pass through first, unchanged
    assert len(out) + len(result.rejected) == 6  # 3 roots x 2 rounds, each attempt kept or rejected
    assert out, "the default responder must let most evolutions succeed"
    for r in out:
        evol = r.meta["evol"]
        assert r.input == "" and r.instruction and r.output
        assert evol["depth"] == len(r.lineage) and evol["op"] == r.lineage[-1] and evol["round"] in (1, 2)
        assert r.lineage[-1] in OPERATIONS and r.meta["model"] == "test-model" and r.meta["finish_reason"] == "stop"
        root = next(x for x in ROOTS if x.id == evol["root_id"])
        assert r.instruction.startswith(root.instruction.split()[0]) or evol["op"] == "breadth" or \
            "unusual" in r.instruction
        if root.meta.get("category"):
            assert r.meta["category"] == "brainstorming"
    sort_evolved = [r for r in out if r.meta["evol"]["root_id"] == ROOTS[1].id and r.meta["evol"]["depth"] == 1]
    for r in sort_evolved:  # the input is folded into the evolved prompt
        assert "3, 1, 2" in r.instruction or r.meta["evol"]["op"] == "breadth"
    stats = result.stats
    assert stats["rounds_run"] == 2 and stats["roots"] == 3 and stats["evolved"] == len(out)
    assert sum(v["attempts"] for v in stats["per_op"].values()) == 6
    assert sum(v["successes"] for v in stats["per_op"].values()) == len(out)
    assert [r["attempts"] for r in stats["per_round"]] == [3, 3]
    assert sum(stats["eliminated"].values()) == len(result.rejected)


# -- each elimination rule fires on a crafted reply and leaves the original in the pool


CASES = [
    ("copied_prompt_words", "given prompt",
     {"evolve": "Explain gravity, as the given prompt asks, with one everyday example."}),
    ("no_information_gain", "Equal", {"judge": "Equal"}),
    ("no_information_gain", "identical", {"evolve": "explain  gravity."}),
    ("model_struggled", 5, {"respond": "Sorry, I can't do that."}),
    ("response_only_stopwords", "The of and, to!", {"respond": "The of and, to!"}),
    ("parse_failed", "truncated", {"evolve": Reply("Explain gravity to a", "length")}),
    ("parse_failed", "equality_verdict", {"judge": "Hard to say."}),
    ("empty_rewrite", "", {"evolve": "#Rewritten Prompt#:"}),
]


@pytest.mark.parametrize(("reason", "value", "first"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_elimination_rule_rejects_and_returns_original_to_pool(make_config, tmp_path, reason, value, first
                                                              ) -> None:
    always = {"judge": "Not Equal", "respond": LONG_ANSWER}
    with FakeOpenAIServer(responder=scripted(first, always)) as server:
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=2")
    assert len(result.rejected) == 1
    rej = result.rejected[0]
    assert (rej.reason, rej.value) == (reason, value)
    assert rej.stage == "evol_instruct"
    assert rej.detail["round"] == 1 and rej.detail["depth"] == 1
    assert rej.detail["root_id"] == rej.detail["parent_id"] == GRAVITY.id
    if reason != "copied_prompt_words" and rej.detail["step"] == "evolve":
        # Nothing usable came back: the record that failed to evolve is the original itself.
        assert rej.record.id == GRAVITY.id
    else:  # the failed evolved record, with its lineage
        assert rej.record.parent_ids == [GRAVITY.id] and rej.record.meta["evol"]["round"] == 1
    if reason == "parse_failed" or value == "Equal":
        assert "raw_reply" in rej.detail
    # Round 2 evolved the original again: depth 1, parent the root.
    [second] = evolved(result)
    assert second.meta["evol"] == {**second.meta["evol"], "round": 2, "depth": 1, "root_id": GRAVITY.id}
    assert second.parent_ids == [GRAVITY.id] and len(second.lineage) == 1
    assert result.stats["per_round"][0]["eliminated"] == {reason: 1}
    assert result.stats["per_round"][1]["successes"] == 1


def test_identical_rewrite_skips_the_judge(make_config, tmp_path) -> None:
    with FakeOpenAIServer(responder=scripted(always={"evolve": "Explain gravity."})) as server:
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=1")
        steps = [_step(FakeRequest("chat", "\n".join(m["content"] for m in r["body"]["messages"]), None, {}))
                 for r in server.requests if r.get("body")]
    assert [r.reason for r in result.rejected] == ["no_information_gain"]
    assert steps == ["evolve"]


def test_generation_failed_is_recorded(make_config, tmp_path) -> None:
    with FakeOpenAIServer(responder=scripted(always={"judge": "Not Equal", "respond": LONG_ANSWER})) as server:
        server.fail_next(1, 400)
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=2",
                           "generator.max_retries=0")
    [rej] = result.rejected
    assert rej.reason == "generation_failed" and rej.detail["step"] == "evolve" and "400" in str(rej.value)
    assert [r.meta["evol"]["round"] for r in evolved(result)] == [2]


def test_rules_can_be_switched_off(make_config, tmp_path) -> None:
    always = {"judge": "Equal", "respond": "Sorry, I can't do that.",
              "evolve": "Explain gravity, as the given prompt asks."}
    with FakeOpenAIServer(responder=scripted(always=always)) as server:
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=1",
                           "evol_instruct.eliminate_no_gain=false", "evol_instruct.eliminate_struggle=false",
                           "evol_instruct.eliminate_copied_words=false")
    assert result.rejected == [] and len(evolved(result)) == 1


# -- lineage over three rounds


def test_lineage_across_three_rounds(make_config, tmp_path) -> None:
    always = {"judge": "Not Equal", "respond": LONG_ANSWER}
    with FakeOpenAIServer(responder=scripted(always=always)) as server:
        result = run_stage(make_config, tmp_path, server, ROOTS[:2], "evol_instruct.rounds=3")
    out = evolved(result)
    assert result.rejected == [] and len(out) == 6
    by_id = {r.id: r for r in [*ROOTS, *out]}
    for r in out:
        evol = r.meta["evol"]
        assert evol["depth"] == evol["round"] == len(r.lineage)
        chain = [r]
        while chain[-1].stage == "evol_instruct":
            chain.append(by_id[chain[-1].parent_ids[0]])
        assert chain[-1].id == evol["root_id"] and len(chain) == evol["depth"] + 1
        # The ops from the root, in order, are the lineage; each step adds one.
        assert [c.meta["evol"]["op"] for c in reversed(chain[:-1])] == r.lineage
        assert [c.meta["evol"]["round"] for c in reversed(chain[:-1])] == list(range(1, evol["round"] + 1))


def test_lineage_skips_a_failed_round(make_config, tmp_path) -> None:
    calls = {"judge": 0}

    def responder(request: FakeRequest) -> str | Reply:
        step = _step(request)
        if step == "judge":
            calls["judge"] += 1
            return "Equal" if calls["judge"] == 2 else "Not Equal"  # round 2 fails
        if step == "respond":
            return LONG_ANSWER
        return default_responder(request)

    with FakeOpenAIServer(responder=responder) as server:
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=3")
    first, third = evolved(result)
    assert [r.reason for r in result.rejected] == ["no_information_gain"]
    assert result.rejected[0].detail["parent_id"] == first.id and result.rejected[0].detail["depth"] == 2
    assert third.parent_ids == [first.id]
    assert third.meta["evol"]["round"] == 3 and third.meta["evol"]["depth"] == 2
    assert third.lineage == [first.lineage[0], third.meta["evol"]["op"]]


# -- configuration: output, weights, response evolution, skipping


def test_output_last_and_keep_inputs_off(make_config, tmp_path) -> None:
    always = {"judge": "Not Equal", "respond": LONG_ANSWER}
    with FakeOpenAIServer(responder=scripted(always=always)) as server:
        result = run_stage(make_config, tmp_path, server, ROOTS, "evol_instruct.rounds=2",
                           "evol_instruct.output=last", "evol_instruct.keep_inputs=false")
    assert len(result.kept) == 3 and all(r.meta["evol"]["round"] == 2 for r in result.kept)


def test_operation_weights_restrict_the_mix(fake_server, make_config, tmp_path) -> None:
    zero_others = [f"evol_instruct.operations.{op}=0" for op in OPERATIONS if op != "complicate_input"]
    result = run_stage(make_config, tmp_path, fake_server, ROOTS, "evol_instruct.rounds=1", *zero_others,
                       "evol_instruct.input_formats=[xml]")
    assert result.stats["per_round"][0]["ops"] == {"complicate_input": 3}
    for r in evolved(result):
        assert r.meta["evol"]["input_format"] == "xml" and "<items>" in r.instruction


def test_all_zero_weights_is_a_config_error(make_config) -> None:
    with pytest.raises(ConfigError, match="at least one operation"):
        make_config(None, *[f"evol_instruct.operations.{op}=0" for op in OPERATIONS])


def test_response_evolution_behind_flag(make_config, tmp_path) -> None:
    always = {"judge": "Not Equal", "respond": LONG_ANSWER}
    with FakeOpenAIServer(responder=scripted(always=always)) as server:
        result = run_stage(make_config, tmp_path, server, [GRAVITY], "evol_instruct.rounds=1",
                           "evol_instruct.evolve_responses=true")
    [r] = evolved(result)
    assert r.output.startswith(LONG_ANSWER) and r.output.endswith("give a complete picture.")
    assert r.meta["evol"]["response_aspect"] in ("helpfulness", "relevance", "depth", "creativity", "detail")


def test_records_without_instruction_pass_through(fake_server, make_config, tmp_path) -> None:
    chat = Record(messages=[Message(role="user", content="hi"), Message(role="assistant", content="hello")])
    result = run_stage(make_config, tmp_path, fake_server, [chat, GRAVITY], "evol_instruct.rounds=1",
                       "evol_instruct.max_roots=1")
    assert result.kept[:2] == [chat, GRAVITY]
    assert result.stats["skipped_no_instruction"] == 1 and result.stats["roots"] == 1
    assert all(r.meta["evol"]["root_id"] == GRAVITY.id for r in evolved(result))


# -- batching and determinism


class SpyGenerator:
    """Wraps a generator and records each batch's size and tag."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    def generate(self, requests, desc: str = ""):
        self.calls.append((requests[0].tag, len(requests)))
        return self.inner.generate(requests, desc=desc)


def test_each_step_of_a_round_is_one_batch(make_config, tmp_path) -> None:
    spies: list[SpyGenerator] = []

    def wrap(gen):
        spies.append(SpyGenerator(gen))
        return spies[-1]

    always = {"judge": "Not Equal", "respond": LONG_ANSWER}
    with FakeOpenAIServer(responder=scripted(always=always)) as server:
        run_stage(make_config, tmp_path, server, ROOTS, "evol_instruct.rounds=2", generator_wrapper=wrap)
    assert spies[0].calls == [("evol_instruct.evolve", 3), ("evol_instruct.equality", 3),
                              ("evol_instruct.respond", 3)] * 2


def test_rerun_is_deterministic_and_fully_cached(fake_server, make_config, tmp_path) -> None:
    first = run_stage(make_config, tmp_path, fake_server, ROOTS, "evol_instruct.rounds=3")
    paid = fake_server.paid_count
    again = run_stage(make_config, tmp_path, fake_server, ROOTS, "evol_instruct.rounds=3")
    assert fake_server.paid_count == paid  # every request answered from the cache
    assert [r.id for r in again.kept] == [r.id for r in first.kept]
    assert [(j.reason, j.record.id) for j in again.rejected] == [(j.reason, j.record.id) for j in first.rejected]
    other_seed = run_stage(make_config, tmp_path / "b", fake_server, ROOTS, "evol_instruct.rounds=3", seed=1)
    assert [r.lineage for r in evolved(other_seed)] != [r.lineage for r in evolved(first)]


# -- the whole pipeline: seeds -> evol_instruct through the runner


def test_runner_writes_records_rejections_and_manifest_counts(fake_server, make_config, tmp_path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    rows = [{"instruction": f"Explain topic number {i} in simple words.", "input": "", "output": "An answer."}
            for i in range(12)]
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = make_config(fake_server, f"seeds.paths=[{seeds}]", "self_instruct.enabled=false",
                      "evol_instruct.rounds=4")
    Runner(cfg).run(stages=["seeds", "evol_instruct"])
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    entry = manifest["stages"]["evol_instruct"]
    stats = entry["stats"]
    assert entry["status"] == "done" and entry["counts"]["in"] == 12
    assert stats["rounds_run"] == 4 and len(stats["per_round"]) == 4
    assert set(stats["per_op"]) == set(OPERATIONS)
    assert sum(v["attempts"] for v in stats["per_op"].values()) == 48
    assert entry["counts"]["kept"] == 12 + stats["evolved"]
    assert entry["rejections_by_reason"] == stats["eliminated"]
    assert sum(entry["rejections_by_reason"].values()) == entry["counts"]["rejected"] > 0
    stage_dir = next((cfg.run_dir / "stages").glob("*_evol_instruct"))
    kept = [json.loads(line) for line in (stage_dir / "kept.jsonl").read_text().splitlines()]
    rejected = [json.loads(line) for line in (stage_dir / "rejected.jsonl").read_text().splitlines()]
    assert sum(1 for r in kept if r["stage"] == "evol_instruct") == stats["evolved"]
    assert all(j["reason"] and "round" in j["detail"] for j in rejected)
    assert entry["usage"]
