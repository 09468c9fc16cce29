"""Renders the Self-Instruct prompts from tasks, and the stop sequences that end each reply."""

from __future__ import annotations

from pathlib import Path

from pipeline.prompts import render
from pipeline.self_instruct.tasks import Task


def bootstrap_prompt(instructions: list[str], prompts_dir: str | Path | None = None) -> str:
    return render("self_instruct/bootstrap.j2", prompts_dir=prompts_dir, instructions=instructions)


def bootstrap_stop(shown: int, max_new: int) -> list[str]:
    """Stop where item shown+max_new+1 would begin (Self-Instruct: 8 shown, stop at item 16, 7 new)."""
    n = shown + max_new + 1
    return [f"Task {n}:", f"\n{n}.", f"\n{n})"]


def classification_prompt(examples: list[Task], instruction: str, prompts_dir: str | Path | None = None) -> str:
    return render("self_instruct/classification.j2", prompts_dir=prompts_dir, examples=examples,
                  instruction=instruction)


def instance_prompt(instruction: str, demos: list[Task], output_first: bool, max_instances: int,
                    prompts_dir: str | Path | None = None) -> str:
    """Output-first for classification tasks (label, then an input for it), input-first otherwise."""
    name = "instances_output_first.j2" if output_first else "instances_input_first.j2"
    return render(f"self_instruct/{name}", prompts_dir=prompts_dir, instruction=instruction, demos=demos,
                  max_instances=max_instances)


def instance_stop(max_instances: int) -> list[str]:
    """Self-Instruct stopped at "Example 6" or a new "Task:" (on its own line, so an echoed first line survives)."""
    return [f"Example {max_instances + 1}", "\nTask:"]


def alpaca_prompt(tasks: list[Task], list_size: int, prompts_dir: str | Path | None = None) -> str:
    shown = [{"instruction": t.instruction, "input": t.instances[0].input if t.instances else "",
              "output": t.instances[0].output if t.instances else ""} for t in tasks]
    return render("self_instruct/alpaca_batch.j2", prompts_dir=prompts_dir, tasks=shown, list_size=list_size)


def alpaca_stop(list_size: int) -> list[str]:
    """Alpaca stopped where item 20 of the list would begin."""
    return [f"\n{list_size}. Instruction", f"{list_size}. Instruction:"]
