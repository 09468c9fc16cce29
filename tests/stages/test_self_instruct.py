"""The self_instruct stage: golden prompts, reply parsers, every filter's reason, both modes, stop conditions,
and an end-to-end run from our seeds against the deterministic local server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.generators.factory import make_generator
from pipeline.records import Record
from pipeline.runner import Runner
from pipeline.self_instruct import prompts
from pipeline.self_instruct.filters import (
    InstanceFilterConfig,
    InstructionFilterConfig,
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
from pipeline.self_instruct.tasks import Instance, Task
from pipeline.stages.base import StageContext
from pipeline.stages.self_instruct import SelfInstructStage
from pipeline.testing.fake_server import FakeOpenAIServer, FakeRequest, Reply
from pipeline.testing.responders import default_responder
from pipeline.testing.responders import self_instruct as si_rules

# -- golden prompts ----------------------------------------------------------------------------------------
CLF = Task("t1", "Label the mood of the sentence.", [Instance("I won!", "happy"), Instance("I lost.", "sad")], True)
GEN = Task("t2", "Name a fruit.", [Instance("", "Apple")], False)


def test_bootstrap_prompt_golden() -> None:
    assert prompts.bootstrap_prompt(["Name a fruit.", "Add two numbers."]) == (
        "Below is a numbered list of requests that people have written for an AI assistant. Each request is a "
        "single, self-contained instruction. Extend the list with new requests that differ from those already "
        "listed in subject, wording and the kind of work they ask for: questions, rewriting, classification, "
        "brainstorming, explanation, step-by-step problems and more. Keep the numbered format, one request per "
        "item.\n\nTask 1: Name a fruit.\nTask 2: Add two numbers.\nTask 3:\n")
    assert prompts.bootstrap_stop(8, 7) == ["Task 16:", "\n16.", "\n16)"]


def test_classification_prompt_golden() -> None:
    assert prompts.classification_prompt([CLF, GEN], "Is this spam?") == (
        "Decide whether each request below is a classification task, meaning that its answer is picked from a "
        "small, fixed set of labels (for example positive or negative, spam or not spam, one of four options). "
        "Answer Yes or No.\n\nTask: Label the mood of the sentence.\nClassification task? Yes\n\n"
        "Task: Name a fruit.\nClassification task? No\n\nTask: Is this spam?\nClassification task?\n")


def test_instance_prompts_golden() -> None:
    assert prompts.instance_prompt("Tell a joke.", [GEN], output_first=False, max_instances=5) == (
        "For the request below, write up to 5 varied examples. An example gives an input for the request and "
        "then the output that correctly completes the request for that input. When the request needs no input "
        "of its own, write \"Input: <noinput>\" and give the output directly.\n\nTask: Name a fruit.\n"
        "Example 1\nInput: <noinput>\nOutput: Apple\n\nTask: Tell a joke.\nExample 1\n")
    assert prompts.instance_prompt("Is this spam?", [CLF], output_first=True, max_instances=5) == (
        "For the classification request below, write up to 5 examples. In each example, first pick one of the "
        "possible class labels, then write an input whose correct label is the one you picked. Spread the "
        "examples over the labels so that every label appears. When the request needs no input of its own, "
        "write \"Input: <noinput>\".\n\nTask: Label the mood of the sentence.\nExample 1\nClass label: happy\n"
        "Input: I won!\nExample 2\nClass label: sad\nInput: I lost.\n\nTask: Is this spam?\nExample 1\n")


def test_alpaca_prompt_golden() -> None:
    text = prompts.alpaca_prompt([GEN, CLF], 20)
    assert text.startswith("Your job is to invent 20 varied tasks for teaching an AI assistant")
    assert text.endswith(
        "List of 20 tasks:\n###\n1. Instruction: Name a fruit.\n1. Input:\n<noinput>\n1. Output:\nApple\n###\n"
        "2. Instruction: Label the mood of the sentence.\n2. Input:\nI won!\n2. Output:\nhappy\n###\n"
        "3. Instruction:\n")
    assert prompts.alpaca_stop(20) == ["\n20. Instruction", "20. Instruction:"]


# -- parsers -----------------------------------------------------------------------------------------------
def test_list_parser_accepts_numbering_styles() -> None:
    reply = ("Write a poem about rain.\nTask 10: Name three rivers in Asia.\n11. Sort these numbers please.\n"
             "12) Explain gravity to a child.\n**Task 13:** Suggest a name for a cat.\n- 14. Describe a busy "
             "market\n   in the early morning.\n")
    parsed = parse_instruction_list(reply, first_number=9, max_items=7)
    assert parsed.items == ["Write a poem about rain.", "Name three rivers in Asia.", "Sort these numbers please.",
                            "Explain gravity to a child.", "Suggest a name for a cat.",
                            "Describe a busy market in the early morning."]


def test_list_parser_drops_preamble_stray_text_and_items_past_the_limit() -> None:
    reply = ("Sure! Here are more tasks:\nTask 9: Name three rivers in Asia.\n\nTask 10: Explain gravity.\n\n"
             "I hope these help!\nTask 17: Too far down the list.")
    parsed = parse_instruction_list(reply, first_number=9, max_items=7)
    assert parsed.items == ["Name three rivers in Asia.", "Explain gravity."]
    assert parsed.stray == ["Sure! Here are more tasks:", "I hope these help!"]
    assert parsed.beyond_limit == 1


def test_yes_no_parser() -> None:
    assert parse_yes_no(" Yes") is True
    assert parse_yes_no("no.") is False
    assert parse_yes_no("**YES**, it is") is True
    assert parse_yes_no("Maybe") is None


def test_instance_parser_input_first_and_output_first() -> None:
    reply = "Input: 2 and 3\nOutput: 5\n\nExample 2\nInput: <noinput>\nOutput: line one\nline two\nExample 3\nInput: x"
    parsed = parse_instances(reply, output_first=False)
    assert parsed.instances == [Instance("2 and 3", "5"), Instance("", "line one\nline two")]
    assert parsed.malformed == ["Input: x"] and parsed.order == [True, True, False]
    labels = parse_instances("Class label: spam\nInput: WIN NOW\n\nExample 2\nClass label: not spam\nInput: Hi mum",
                             output_first=True)
    assert labels.instances == [Instance("WIN NOW", "spam"), Instance("Hi mum", "not spam")]


def test_alpaca_parser_keeps_malformed_blocks_raw() -> None:
    reply = (" Name a color.\n4. Input:\n<noinput>\n4. Output:\nBlue\n###\n5. Instruction: Add 2 and 2.\n"
             "5. Output:\n4\n###\n6. Instruction: Translate 'hi' to French.\n6. Input:\nhi\n6. Output:\nsalut")
    blocks = parse_alpaca_tasks(reply, first_number=4).blocks
    assert blocks[0] == ParsedTask("Name a color.", "", "Blue")
    assert isinstance(blocks[1], str) and "Add 2 and 2" in blocks[1]
    assert blocks[2] == ParsedTask("Translate 'hi' to French.", "hi", "salut")


# -- filters (pure) ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,reason,value", [
    ("Tell a joke.", "too_short", 3),
    (" ".join(["word"] * 151), "too_long", 151),
    ("Describe the IMAGES in this story.", "blacklisted_keyword", "images"),
    ("Explain how to go to the station.", "blacklisted_keyword", "go to"),
    ("Write a program that sorts numbers.", "starts_with_write_a_program", "Write a program"),
    ('"Quote" the longest line here.', "starts_with_punctuation", '"'),
    ("Écris une phrase en français ici.", "non_ascii_start", "É"),
])
def test_instruction_filters(text: str, reason: str, value: object) -> None:
    problem = instruction_problem(text, InstructionFilterConfig(), blacklist_for("self_instruct", None))
    assert problem is not None and (problem.reason, problem.value) == (reason, value)


def test_blacklist_is_whole_word_and_alpaca_adds_words() -> None:
    config = InstructionFilterConfig()
    assert instruction_problem("Summarize the profile of a mapmaker.", config, blacklist_for("self_instruct", None)) \
        is None
    assert instruction_problem("Describe your favourite music genre.", config, blacklist_for("self_instruct", None)) \
        is None
    problem = instruction_problem("Describe your favourite music genre.", config, blacklist_for("alpaca", None))
    assert problem is not None and problem.value == "music"


def test_instance_filters_reasons_and_cap() -> None:
    items = [Instance("a", ""), Instance("same", "same"), Instance("x:", "y"), Instance("p", "q:"),
             Instance("1", "one"), Instance("1", "one")] + [Instance(str(i), f"v{i}") for i in range(2, 8)]
    verdict = filter_instances(items, InstanceFilterConfig())
    reasons = [p.reason for _, p in verdict.rejected]
    assert reasons == ["empty_output", "output_equals_input", "ends_with_colon", "ends_with_colon",
                       "duplicate_instance", "too_many_instances", "too_many_instances"]
    assert len(verdict.kept) == 5 and verdict.conflict is None
    conflict = filter_instances([Instance("1", "one"), Instance("1", "uno")], InstanceFilterConfig())
    assert conflict.conflict is not None and conflict.conflict.reason == "conflicting_outputs"


# -- the stage against the local server ----------------------------------------------------------------------
SEEDS = [Record(instruction=f"Describe the history of {topic} in a paragraph.", output=f"About {topic}.",
                meta={"task_id": f"s{i}", "is_classification": False})
         for i, topic in enumerate(["tea", "paper", "glass", "bridges", "clocks", "maps of stars"])]
SEEDS.append(Record(instruction="Classify the review as positive or negative.", input="Great!", output="positive",
                    meta={"task_id": "s9", "is_classification": True}))


def run_stage(server: FakeOpenAIServer, make_config, tmp_path: Path, *overrides: str, seeds=SEEDS):
    cfg = make_config(server, "generator.max_retries=0", *overrides)
    gen = make_generator(cfg.generator, tmp_path)
    try:
        ctx = StageContext(seed=0, generator=gen, generator_config=cfg.generator, seed_records=list(seeds))
        return SelfInstructStage(cfg.self_instruct, ctx).run(list(seeds))
    finally:
        gen.close()


def scripted(bootstrap: str | Reply, instances: str = "Input: <noinput>\nOutput: A fine answer.",
             classify=lambda instruction: "No"):
    """A responder with a fixed bootstrap reply; classification and instances by the given rules."""
    def respond(request: FakeRequest) -> str | Reply:
        text = request.prompt_text
        last_task = re.findall(r"^Task: (.+)$", text, re.MULTILINE)
        if si_rules.BOOTSTRAP_PHRASE in text:
            return bootstrap
        if si_rules.CLASSIFICATION_PHRASE in text:
            return classify(last_task[-1])
        return instances
    return respond


def new_records(result) -> list[Record]:
    return [r for r in result.kept if r.stage == "self_instruct"]


def test_truncated_last_item_is_dropped(make_config, tmp_path: Path) -> None:
    reply = Reply("Name three rivers that flow through Asia.\nTask 9: Explain how tides work simply.\n"
                  "Task 10: Plan a", finish_reason="length")
    with FakeOpenAIServer(responder=scripted(reply)) as server:
        result = run_stage(server, make_config, tmp_path, "self_instruct.batch_size=1",
                           "self_instruct.max_requests=1")
    assert {r.instruction for r in new_records(result)} == {"Name three rivers that flow through Asia.",
                                                             "Explain how tides work simply."}
    [truncated] = [r for r in result.rejected if r.reason == "truncated_item"]
    assert truncated.record.instruction == "Plan a" and truncated.value == 2


def test_each_instruction_filter_reason_in_the_stage(make_config, tmp_path: Path) -> None:
    items = ["Tell a joke.", "Draw a picture of a cat sleeping.", "Write a program that prints primes.",
             "(Optional) list some colors you like.", "Ünicode first letter starts here.",
             "Describe the history of tea in a paragraph please.", "Explain why leaves change color in autumn."]
    reply = "\n".join(t if k == 0 else f"Task {k + 8}: {t}" for k, t in enumerate(items))
    with FakeOpenAIServer(responder=scripted(reply)) as server:
        result = run_stage(server, make_config, tmp_path, "self_instruct.batch_size=1",
                           "self_instruct.max_requests=1")
    got = {(r.reason, r.value) for r in result.rejected}
    assert got >= {("too_short", 3), ("blacklisted_keyword", "picture"),
                   ("starts_with_write_a_program", "Write a program"), ("starts_with_punctuation", "("),
                   ("non_ascii_start", "Ü")}
    [similar] = [r for r in result.rejected if r.reason == "rouge_l_too_similar"]
    assert similar.value > 0.7 and similar.detail["nearest_id"] == "s0"
    [kept] = new_records(result)
    assert kept.instruction == "Explain why leaves change color in autumn."
    assert kept.meta["rouge_l_pool"] <= 0.7 and kept.meta["nearest_id"]
    assert len(kept.meta["icl_ids"]) == 7 and kept.meta["sampling"]["temperature"] == 0.7
    assert result.stats["stop_reason"] == "max_requests" and result.stats["requests"]["generation"] == 1


def test_output_first_for_classification_input_first_otherwise(make_config, tmp_path: Path) -> None:
    seen: dict[str, str] = {}

    def respond(request: FakeRequest) -> str:
        text = request.prompt_text
        last = re.findall(r"^Task: (.+)$", text, re.MULTILINE)
        if si_rules.BOOTSTRAP_PHRASE in text:
            return "Classify the email as spam or not spam.\nTask 9: Explain how rainbows form in the sky."
        if si_rules.CLASSIFICATION_PHRASE in text:
            return "Yes" if last[-1].startswith("Classify") else "No"
        seen[last[-1]] = "output_first" if si_rules.OUTPUT_FIRST_PHRASE in text else "input_first"
        if si_rules.OUTPUT_FIRST_PHRASE in text:
            return "Class label: spam\nInput: WIN A PRIZE\n\nExample 2\nClass label: not spam\nInput: Lunch at 1?"
        return "Input: <noinput>\nOutput: Sunlight splits in raindrops."

    with FakeOpenAIServer(responder=respond) as server:
        result = run_stage(server, make_config, tmp_path, "self_instruct.target_tasks=2")
    assert seen == {"Classify the email as spam or not spam.": "output_first",
                    "Explain how rainbows form in the sky.": "input_first"}
    by_task = {(r.instruction, r.input, r.output, r.meta["is_classification"]) for r in new_records(result)}
    assert by_task == {("Classify the email as spam or not spam.", "WIN A PRIZE", "spam", True),
                       ("Classify the email as spam or not spam.", "Lunch at 1?", "not spam", True),
                       ("Explain how rainbows form in the sky.", "", "Sunlight splits in raindrops.", False)}


def test_instance_rejections_and_conflicting_task(make_config, tmp_path: Path) -> None:
    def respond(request: FakeRequest) -> str | Reply:
        text = request.prompt_text
        if si_rules.BOOTSTRAP_PHRASE in text:
            return "Add the two numbers given below.\nTask 9: Translate the given word into Spanish."
        if si_rules.CLASSIFICATION_PHRASE in text:
            return "No"
        if "Task: Add the two numbers" in text:
            return Reply("Input: 1 2\nOutput: 3\n\nExample 2\nInput: 1 2\nOutput: 3\n\nExample 3\nInput: 2 2\n"
                         "Output:\n\nExample 4\nInput: Numbers:\nOutput: 0\n\nExample 5\nInput: 5 5\nOutput: 1",
                         finish_reason="length")
        return "Input: dog\nOutput: perro\n\nExample 2\nInput: cat\nOutput: cat\n\nExample 3\nInput: dog\nOutput: can"

    with FakeOpenAIServer(responder=respond) as server:
        result = run_stage(server, make_config, tmp_path, "self_instruct.batch_size=1",
                           "self_instruct.max_requests=1")
    reasons = [r.reason for r in result.rejected]
    assert reasons == ["instance_truncated", "empty_output", "ends_with_colon", "duplicate_instance",
                       "output_equals_input", "conflicting_outputs"]
    assert [(r.input, r.output) for r in new_records(result)] == [("1 2", "3")]


def test_failed_generation_becomes_a_rejection(make_config, tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.fail_next(1, 500)
        result = run_stage(server, make_config, tmp_path, "self_instruct.batch_size=1",
                           "self_instruct.max_requests=1")
    [failed] = [r for r in result.rejected if r.reason == "generation_failed"]
    assert failed.detail["step"] == "bootstrap" and failed.value


def test_stops_at_max_requests_when_nothing_is_new(make_config, tmp_path: Path) -> None:
    copy = "\n".join(f"Task {9 + k}: {SEEDS[k].instruction}" for k in range(5))
    with FakeOpenAIServer(responder=scripted(copy)) as server:
        result = run_stage(server, make_config, tmp_path, "self_instruct.batch_size=2",
                           "self_instruct.max_requests=5")
        assert server.request_count == 5
    assert result.stats["stop_reason"] == "max_requests" and result.stats["requests"]["generation"] == 5
    assert result.stats["accepted_tasks"] == 0
    assert set(result.rejection_counts()) == {"rouge_l_too_similar"}


def test_stops_at_token_budget(fake_server: FakeOpenAIServer, make_config, tmp_path: Path) -> None:
    result = run_stage(fake_server, make_config, tmp_path, "self_instruct.batch_size=2",
                       "self_instruct.max_total_tokens=10", "self_instruct.target_tasks=500")
    assert result.stats["stop_reason"] == "token_budget" and result.stats["rounds"] == 1


def test_alpaca_mode_with_default_server(fake_server: FakeOpenAIServer, make_config, tmp_path: Path) -> None:
    result = run_stage(fake_server, make_config, tmp_path, "self_instruct.mode=alpaca",
                       "self_instruct.target_tasks=20", "self_instruct.batch_size=2")
    new = new_records(result)
    assert len(new) == 20 and result.stats["stop_reason"] == "target_reached"
    assert all(r.meta["mode"] == "alpaca" and len(r.meta["icl_ids"]) == 3 for r in new)
    assert result.stats["requests"] == {"generation": 2, "classification": 0, "instances": 0}
    bodies = [e["body"] for e in fake_server.requests]
    assert bodies[0]["temperature"] == 1.0 and bodies[0]["top_p"] == 1.0


def test_default_responder_answers_every_prompt_plausibly() -> None:
    request = FakeRequest("chat", prompts.bootstrap_prompt([s.instruction for s in SEEDS]), None, {})
    parsed = parse_instruction_list(str(default_responder(request)), 8, 7)
    assert len(parsed.items) == 7 and parsed.beyond_limit == 2 and not parsed.stray  # the server's stop cuts

    def answer(text: str) -> str:
        return str(default_responder(FakeRequest("chat", text, None, {})))

    assert answer(prompts.classification_prompt([CLF, GEN], "Classify the tweet as fact or opinion.")) == "Yes"
    assert answer(prompts.classification_prompt([CLF, GEN], "Give three tips about sleep.")) == "No"
    labels = parse_instances(answer(prompts.instance_prompt("Classify the tweet as fact or opinion.", [CLF], True, 5)),
                             output_first=True)
    assert {i.output for i in labels.instances} == {"fact", "opinion"} and not labels.malformed
    pairs = parse_instances(answer(prompts.instance_prompt("Rewrite the given sentence politely.", [GEN], False, 5)),
                            output_first=False)
    assert len(pairs.instances) >= 2 and all(i.input and i.output for i in pairs.instances)


def test_run_from_our_seeds_reaches_target_and_reruns_from_cache(fake_server: FakeOpenAIServer,
                                                                 make_config) -> None:
    cfg = make_config(fake_server, "self_instruct.target_tasks=30")
    Runner(cfg).run(stages=["seeds", "self_instruct"])
    stage_dir = cfg.run_dir / "stages" / "01_self_instruct"
    kept = (stage_dir / "kept.jsonl").read_text().splitlines()
    new = [json.loads(line) for line in kept if json.loads(line)["stage"] == "self_instruct"]
    assert len({r["meta"]["task_id"] for r in new}) == 30
    assert all(r["meta"]["rouge_l_pool"] <= 0.7 and r["meta"]["model"] for r in new)
    rejected = [json.loads(line) for line in (stage_dir / "rejected.jsonl").read_text().splitlines()]
    assert rejected and all(r["reason"] for r in rejected)
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["stages"]["self_instruct"]["stats"]["stop_reason"] == "target_reached"

    paid = fake_server.request_count
    Runner(cfg, force=True).run(stages=["seeds", "self_instruct"])
    assert fake_server.request_count == paid  # every request came from the cache
    assert (stage_dir / "kept.jsonl").read_text().splitlines() == kept
