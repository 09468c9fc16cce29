"""Canned fake-server replies for the Evol-Instruct prompts (in-depth and in-breadth evolution, answers)."""

from __future__ import annotations

from pipeline.testing.responders.rule import Rule

RULES: list[Rule] = []
