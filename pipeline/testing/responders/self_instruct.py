"""Canned fake-server replies for the Self-Instruct prompts (instruction generation, classification check)."""

from __future__ import annotations

from pipeline.testing.responders.rule import Rule

RULES: list[Rule] = []
