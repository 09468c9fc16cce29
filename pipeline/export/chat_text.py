"""Renders conversations to plain text through a chat template: our Jinja2 files or a tokenizer's own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipeline import PROMPTS_DIR
from pipeline.errors import TemplateError

BUILTIN_TEMPLATES = ("chatml", "llama3", "alpaca")

# Special tokens our renderer passes when no tokenizer is involved (the tokens each family's models use).
_DEFAULT_TOKENS: dict[str, dict[str, str]] = {
    "chatml": {"bos_token": "", "eos_token": "<|im_end|>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "alpaca": {"bos_token": "", "eos_token": "</s>"},
}

Span = tuple[int, int]
_TRACKER: ContextVar[tuple[list[str], list[Span]] | None] = ContextVar("generation_tracker", default=None)


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}`: transformers marks assistant tokens with it. jinja2 does not
    know the tag, so we parse it as a plain block and, while tracking, note the character span it rendered."""

    tags: ClassVar[set[str]] = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_mark", []), [], [], body).set_lineno(lineno)

    def _mark(self, caller: Any) -> str:
        text = caller()
        tracking = _TRACKER.get()
        if tracking is not None:
            blocks, spans = tracking
            start = sum(len(b) for b in blocks)
            spans.append((start, start + len(text)))
        return text


@contextmanager
def _tracking(blocks: list[str], spans: list[Span]) -> Iterator[None]:
    token = _TRACKER.set((blocks, spans))
    try:
        yield
    finally:
        _TRACKER.reset(token)


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    # The same environment options as transformers' apply_chat_template, so both render identical text.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    return env.from_string(source)


def template_path(name: str, prompts_dir: str | Path | None = None) -> Path:
    return Path(prompts_dir or PROMPTS_DIR) / "chat" / f"{name}.j2"


def chat_template_source(spec: str, prompts_dir: str | Path | None = None) -> str:
    """The Jinja2 text of a built-in template name or a .j2 file, e.g. to set as `tokenizer.chat_template`."""
    path = template_path(spec, prompts_dir) if spec in BUILTIN_TEMPLATES else Path(spec)
    if not path.is_file():
        raise TemplateError(f"chat template '{spec}' not found: use one of {', '.join(BUILTIN_TEMPLATES)}, "
                            "a .j2 file or a tokenizer directory", path=path)
    return path.read_text(encoding="utf-8")


class ChatRenderer:
    """Turns a list of {role, content} messages into one training text."""

    def __init__(self, spec: str, prompts_dir: str | Path | None = None):
        self.spec = spec
        self._tokenizer: Any = None
        if spec not in BUILTIN_TEMPLATES and Path(spec).is_dir():
            self._tokenizer = _load_tokenizer(spec)
            self.source = self._tokenizer.chat_template
            self.tokens = {k: v for k, v in (("bos_token", self._tokenizer.bos_token),
                                             ("eos_token", self._tokenizer.eos_token)) if v}
        else:
            self.source = chat_template_source(spec, prompts_dir)
            self.tokens = dict(_DEFAULT_TOKENS.get(spec, {}))

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.source, self.tokens], sort_keys=True).encode()).hexdigest()[:16]

    def check(self) -> None:
        """Compile the template now, so a syntax error is one clear error before any record is rendered."""
        if self._tokenizer is None:
            try:
                _compile(self.source)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"chat template syntax error: {exc.message}", path=self.spec,
                                    line=exc.lineno) from None

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool = False) -> str:
        if self._tokenizer is not None:
            try:
                return self._tokenizer.apply_chat_template(messages, tokenize=False,
                                                           add_generation_prompt=add_generation_prompt)
            except Exception as exc:  # noqa: BLE001 (a hub template raises whatever its author chose)
                raise TemplateError(f"the tokenizer's chat template failed: {exc}", path=self.spec) from None
        return self.render_with_spans(messages, add_generation_prompt)[0]

    def render_with_spans(self, messages: list[dict[str, Any]], add_generation_prompt: bool = False
                          ) -> tuple[str, list[Span]]:
        """The text and the character spans of its `{% generation %}` blocks (the assistant turns)."""
        try:
            template = _compile(self.source)
            blocks: list[str] = []
            spans: list[Span] = []
            with _tracking(blocks, spans):
                for block in template.generate(messages=messages, add_generation_prompt=add_generation_prompt,
                                               **self.tokens):
                    blocks.append(block)  # noqa: PERF402 (the tag reads `blocks` while generating)
            return "".join(blocks), spans
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"chat template syntax error: {exc.message}", path=self.spec,
                                line=exc.lineno) from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"chat template failed: {exc.message}", path=self.spec) from None


def _load_tokenizer(directory: str) -> Any:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise TemplateError("a tokenizer directory needs transformers: pip install 'instruct-pipeline[train]'",
                            path=directory) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 (missing files, bad JSON, unknown class: all one message)
        raise TemplateError(f"cannot load a tokenizer from this directory ({exc})".splitlines()[0],
                            path=directory) from None
    if not getattr(tokenizer, "chat_template", None):
        raise TemplateError("this tokenizer has no chat_template: set format.chat_template to chatml, llama3 "
                            "or alpaca instead", path=directory)
    return tokenizer
