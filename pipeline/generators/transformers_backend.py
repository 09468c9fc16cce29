"""In-process backend for a local model directory: batched generation with the tokenizer's chat template."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pipeline.errors import GeneratorError
from pipeline.generators.base import Backend, Generation, GenerationRequest, ResultCallback
from pipeline.generators.config import GeneratorConfig


class TransformersBackend(Backend):
    name = "transformers"

    def __init__(self, config: GeneratorConfig):
        if not config.model_dir:
            raise GeneratorError("the transformers backend needs generator.model_dir (a local model directory)")
        path = Path(config.model_dir)
        if not (path / "config.json").exists():
            raise GeneratorError(f"{path} is not a model directory (no config.json): set generator.model_dir")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise GeneratorError("the transformers backend needs the train extra: pip install -e '.[train]'") from None
        self.config = config
        self._torch = torch
        self.device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.tokenizer.padding_side = "left"  # decoder-only batched generation pads on the left
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype).to(self.device).eval()

    def identity(self) -> dict[str, Any]:
        return {"backend": "transformers", "model": self.config.model, "model_dir": str(self.config.model_dir)}

    def _context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 0) or 1 << 20)

    def _prompt_ids(self, req: GenerationRequest) -> list[int]:
        if req.prompt is not None:
            return self.tokenizer(req.prompt, add_special_tokens=True)["input_ids"]
        if not getattr(self.tokenizer, "chat_template", None):
            raise GeneratorError(f"{self.config.model_dir} has no chat template: use generator.mode=completion")
        ids = self.tokenizer.apply_chat_template(req.message_dicts(), add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):  # newer transformers return a BatchEncoding
            ids = ids["input_ids"]
        return list(ids)

    def generate_batch(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        bs = self.config.batch_size
        # Group by sampling parameters: one generate() call takes one set of them.
        order = sorted(range(len(requests)), key=lambda i: repr(requests[i].params))
        for start in range(0, len(order), bs):
            chunk = order[start:start + bs]
            groups: dict[str, list[int]] = {}
            for i in chunk:
                groups.setdefault(repr(requests[i].params), []).append(i)
            for idxs in groups.values():
                for i, gen in zip(idxs, self._generate([requests[i] for i in idxs])):
                    on_result(i, gen)

    def _generate(self, reqs: list[GenerationRequest]) -> list[Generation]:
        torch = self._torch
        p = reqs[0].params
        # Keep the end of a prompt that would not fit the model's context together with the answer.
        room = max(1, self._context_length() - p.max_tokens)
        prompts = [self._prompt_ids(r)[-room:] for r in reqs]
        width = max(len(x) for x in prompts)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in prompts], device=self.device)
        attention = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in prompts], device=self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": p.max_tokens, "pad_token_id": pad}
        if p.temperature > 0:
            kwargs.update(do_sample=True, temperature=p.temperature, top_p=p.top_p)
            # Same request, same answer: seed from the request itself.
            key = f"{reqs[0].prompt_text()}|{reqs[0].sample_index}|{p.seed}".encode()
            torch.manual_seed(int(hashlib.sha256(key).hexdigest()[:8], 16))
        else:
            kwargs["do_sample"] = False
        with torch.no_grad():
            out = self.model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        results = []
        eos = self.tokenizer.eos_token_id
        for row, prompt in zip(out, prompts):
            new = row[width:].tolist()
            stopped = eos in new if eos is not None else False
            if stopped:
                new = new[: new.index(eos)]
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            finish = "stop" if stopped else "length"
            for s in p.stop:
                if s and s in text:
                    text, finish = text[: text.index(s)], "stop"
            results.append(Generation(text=text, finish_reason=finish, prompt_tokens=len(prompt),
                                      completion_tokens=len(new), model=self.config.model))
        return results
