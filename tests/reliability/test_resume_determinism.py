"""Resumed runs read back exactly what the first run got, even when a batch holds equal requests and the
model answers each one differently (as a sampling model does)."""

from __future__ import annotations

import itertools
import json
import threading

from real_stages import outcome

from pipeline.runner import Runner
from pipeline.testing.fake_server import FakeOpenAIServer, Reply
from pipeline.testing.responders import default_responder
from pipeline.testing.responders.evol_instruct import EVOLVE_MARK

OTHER_OPS = ["evol_instruct.operations.add_constraints=0", "evol_instruct.operations.concretizing=0",
             "evol_instruct.operations.increase_reasoning=0", "evol_instruct.operations.complicate_input=0",
             "evol_instruct.operations.breadth=0"]


def _sampling_responder():
    """The default replies, with each evolution made unique, as two samples of a real model would be."""
    counter, lock = itertools.count(1), threading.Lock()

    def respond(request):
        reply = default_responder(request)
        if EVOLVE_MARK not in request.prompt_text:
            return reply
        with lock:
            n = next(counter)
        text = reply.text if isinstance(reply, Reply) else str(reply)
        return f"{text} Use example number {n} in the answer."

    return respond


def test_equal_requests_in_one_batch_are_separate_samples(make_config, tmp_path):
    # One seed task, three instances with no input: evol sees three roots with the same prompt, and with
    # one operation allowed every round sends three equal evolve requests in one batch.
    seeds = tmp_path / "seeds.jsonl"
    task = {"id": "t0", "name": "n0", "instruction": "Explain why leaves change colour in autumn.",
            "is_classification": False,
            "instances": [{"input": "", "output": f"Answer {i}: chlorophyll breaks down."} for i in range(3)]}
    seeds.write_text(json.dumps(task) + "\n")
    with FakeOpenAIServer(responder=_sampling_responder()) as srv:
        cfg = make_config(srv, f"seeds.paths=[{seeds}]", "self_instruct.enabled=false", "evol_instruct.rounds=2",
                          "dedup.enabled=false", "quality.enabled=false", "format.enabled=false", *OTHER_OPS)
        Runner(cfg).run()
        first = outcome(cfg.run_dir)
        paid = srv.request_count
        Runner(cfg, force=True).run()  # every answer from the cache
        assert srv.request_count == paid
    again = outcome(cfg.run_dir)
    kept = first["evol_instruct"][0]
    assert len(set(kept)) == len(kept) == 3 + 3 * 2  # the three inputs, and three distinct evolutions a round
    assert again == first
