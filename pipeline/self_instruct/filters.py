"""Self-Instruct's and Alpaca's heuristic filters for new instructions and their instances, with reasons."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.self_instruct.tasks import Instance

# Self-Instruct (Wang et al., 2023), bootstrap_instructions.py: things a text-only model cannot handle.
SELF_INSTRUCT_BLACKLIST = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files",
                           "map", "maps", "draw", "plot", "go to")
# Alpaca (Taori et al., 2023), generate_instruction.py adds these to the list above.
ALPACA_EXTRA_BLACKLIST = ("video", "audio", "music", "flowchart", "diagram")


class InstructionFilterConfig(StrictModel):
    # Both reference scripts drop `len(inst.split()) <= 3` or `> 150`: fewer than 4 words is too short.
    min_words: int = Field(4, ge=1)
    max_words: int = Field(150, ge=1)
    # None: the mode's list (Self-Instruct's; Alpaca mode adds Alpaca's five). Whole words, any case.
    blacklist: list[str] | None = None
    # Both scripts: the model over-produces "Write a program ..." variants of existing tasks.
    reject_write_a_program: bool = True
    # Both scripts: a first character in string.punctuation, or a non-ASCII first character.
    reject_punctuation_start: bool = True
    reject_non_ascii_start: bool = True


class InstanceFilterConfig(StrictModel):
    # Self-Instruct: up to 5 instances per task are kept.
    max_instances: int = Field(5, ge=1)
    # Self-Instruct's filter_invalid_instances: empty output, input == output, input/output ending in ":".
    reject_empty_output: bool = True
    reject_output_equals_input: bool = True
    reject_colon_ending: bool = True
    # Self-Instruct's filter_duplicate_instances: exact duplicates go; the same non-empty input with
    # different outputs drops the whole task.
    reject_duplicates: bool = True
    drop_conflicting_tasks: bool = True


@dataclass(frozen=True)
class Problem:
    """Why a candidate fails: a snake_case reason, the value that decided it, and optional detail."""

    reason: str
    value: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


def blacklist_for(mode: str, configured: list[str] | None) -> tuple[str, ...]:
    if configured is not None:
        return tuple(configured)
    return SELF_INSTRUCT_BLACKLIST + (ALPACA_EXTRA_BLACKLIST if mode == "alpaca" else ())


@lru_cache(maxsize=64)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)


def instruction_problem(instruction: str, config: InstructionFilterConfig,
                        blacklist: tuple[str, ...]) -> Problem | None:
    """The first heuristic a new instruction fails, in the reference scripts' order, or None."""
    if not instruction:
        return Problem("too_short", 0)
    words = len(instruction.split())
    if words < config.min_words:
        return Problem("too_short", words)
    if words > config.max_words:
        return Problem("too_long", words)
    for word in blacklist:
        if _word_pattern(word).search(instruction):
            return Problem("blacklisted_keyword", word)
    if config.reject_write_a_program and instruction.startswith("Write a program"):
        return Problem("starts_with_write_a_program", "Write a program")
    if config.reject_punctuation_start and instruction[0] in string.punctuation:
        return Problem("starts_with_punctuation", instruction[0])
    if config.reject_non_ascii_start and not instruction[0].isascii():
        return Problem("non_ascii_start", instruction[0])
    return None


def instance_problem(instance: Instance, config: InstanceFilterConfig) -> Problem | None:
    """The first per-instance rule an instance fails, or None."""
    if config.reject_empty_output and not instance.output.strip():
        return Problem("empty_output", 0)
    if config.reject_output_equals_input and instance.input.strip() == instance.output.strip():
        return Problem("output_equals_input", len(instance.output))
    if config.reject_colon_ending:
        for name in ("input", "output"):
            if getattr(instance, name).rstrip().endswith(":"):
                return Problem("ends_with_colon", name)
    return None


@dataclass
class InstanceVerdict:
    """Kept instances in order, rejected ones with their problem, and the conflict that drops the task."""

    kept: list[Instance] = field(default_factory=list)
    rejected: list[tuple[Instance, Problem]] = field(default_factory=list)
    conflict: Problem | None = None


def filter_instances(instances: list[Instance], config: InstanceFilterConfig) -> InstanceVerdict:
    """Self-Instruct's order: invalid instances, then conflicting outputs, then duplicates, then the cap."""
    verdict = InstanceVerdict()
    valid: list[Instance] = []
    for inst in instances:
        problem = instance_problem(inst, config)
        if problem is not None:
            verdict.rejected.append((inst, problem))
        else:
            valid.append(inst)
    if config.drop_conflicting_tasks:
        outputs: dict[str, str] = {}
        for inst in valid:
            if inst.input and outputs.setdefault(inst.input, inst.output) != inst.output:
                verdict.conflict = Problem("conflicting_outputs", inst.input[:200],
                                           {"outputs": [outputs[inst.input][:200], inst.output[:200]]})
                return verdict
    seen: set[tuple[str, str]] = set()
    for inst in valid:
        key = (inst.input, inst.output)
        if config.reject_duplicates and key in seen:
            verdict.rejected.append((inst, Problem("duplicate_instance", inst.output[:80])))
        elif len(verdict.kept) >= config.max_instances:
            verdict.rejected.append((inst, Problem("too_many_instances", config.max_instances)))
        else:
            seen.add(key)
            verdict.kept.append(inst)
    return verdict
