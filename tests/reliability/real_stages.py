"""Small settings for the real seeds -> self_instruct -> evol_instruct stages, as the fault, crash and
dry-run tests run them (later stages off, so each run is a few seconds against the fake server)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "seed_tasks.jsonl"
# Generated tasks only go on to evol (keep_seeds=false), so evol's requests depend on self_instruct's answers.
SETTINGS = [f"seeds.paths=[{SEEDS}]", "self_instruct.target_tasks=12", "self_instruct.batch_size=4",
            "self_instruct.keep_seeds=false", "evol_instruct.rounds=2", "evol_instruct.max_roots=10",
            "dedup.enabled=false", "quality.enabled=false", "format.enabled=false"]
GENERATING = (("self_instruct", "01_self_instruct"), ("evol_instruct", "02_evol_instruct"))


def cli_sets(overrides: list[str]) -> list[str]:
    return [arg for item in overrides for arg in ("--set", item)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def stage_rows(root: Path, folder: str, kind: str) -> list[dict]:
    return read_jsonl(root / "stages" / folder / f"{kind}.jsonl")


def outcome(root: Path) -> dict[str, tuple[list[str], Counter]]:
    """Per generating stage: kept ids in order, and (record id, reason, value) of every rejection."""
    out = {}
    for stage, folder in GENERATING:
        kept = [r["id"] for r in stage_rows(root, folder, "kept")]
        rejected = Counter((r["record"]["id"], r["reason"], json.dumps(r["value"]))
                           for r in stage_rows(root, folder, "rejected"))
        out[stage] = (kept, rejected)
    return out
