"""Canned fake-server replies for the LLM-as-judge prompts (quality scores and verdicts)."""

from __future__ import annotations

from pipeline.testing.responders.rule import Rule

RULES: list[Rule] = []
