"""The run report: every figure is embedded for a full run, record text is escaped, missing stages degrade."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from pipeline.records import Message, Record, Rejection
from pipeline.report import FIGURE_KEYS, write_report
from pipeline.report.verb_noun import verb_noun
from pipeline.rundir import RunDirectory

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VERBS = ["Write", "Generate", "Explain", "Classify", "Summarize", "List"]
NOUNS = ["poem", "story", "list", "sentence", "email", "article"]
OPS = ["add_constraints", "deepening", "concretizing", "increase_reasoning", "in_breadth"]


def _usage(prompt: int, completion: int, requests: int) -> dict:
    total = {"requests": requests, "cached": 1, "failed": 0, "retries": 0, "truncated": 0,
             "prompt_tokens": prompt, "completion_tokens": completion}
    return {"total": total, "by_tag": {"step": total}}


def _entry(kept: list, rejected: list, n_in: int, usage: dict | None = None) -> dict:
    reasons: dict[str, int] = {}
    for r in rejected:
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return {"status": "done", "counts": {"in": n_in, "kept": len(kept), "rejected": len(rejected)},
            "rejections_by_reason": reasons, "wall_s": 1.5, "usage": usage or {}, "stats": {}}


def build_run(root: Path, stages: tuple[str, ...] = ("seeds", "self_instruct", "evol_instruct", "dedup",
                                                     "quality", "format")) -> Path:
    """A small hand-written run directory with the meta every figure reads."""
    rd = RunDirectory(root)
    manifest: dict = {"run_name": root.name, "config_hash": "abc123", "pipeline_version": "0.1.0",
                      "created_at": "2025-01-01T00:00:00+00:00", "stages": {},
                      "package_versions": {"python": "3.11"}}
    seeds = [Record(instruction=f"{VERBS[i % 6]} a {NOUNS[i % 6]} about topic {i}.", output=f"answer {i}",
                    stage="seeds") for i in range(12)]
    generated = [Record(instruction=f"{VERBS[i % 6]} the {NOUNS[(i * 5) % 6]}s of case {i}.",
                        input="some context words" if i % 3 else "", output="word " * (5 + i),
                        stage="self_instruct", meta={"rouge_l_seed": round(0.1 + 0.02 * i, 3)})
                 for i in range(30)]
    generated.append(Record(instruction="Repeat this: <script>alert('x')</script>", output="<b>bold</b>",
                            stage="self_instruct", meta={"rouge_l_seed": 0.2}))
    si_rej = [Rejection(record=Record(instruction=f"Write a poem about topic {i}."), stage="self_instruct",
                        reason="rouge_l_too_similar", value=0.81, detail={"nearest_id": "x"}) for i in range(4)]
    si_rej.append(Rejection(record=Record(instruction="<img src=x onerror=alert(1)>"), stage="self_instruct",
                            reason="generation_failed", value="HTTP 500"))
    evolved = [r.derive("evol_instruct", instruction=r.instruction + " Add a constraint.",
                        lineage=OPS[: 1 + i % 3], meta={"evol": {"root_id": r.id, "depth": 1 + i % 3,
                                                                 "op": OPS[i % 5], "round": 1 + i % 3}})
               for i, r in enumerate(generated)]
    evo_rej = [Rejection(record=Record(instruction=f"evolved {i}", meta={"evol": {"depth": 1, "op": OPS[i % 5]}}),
                         stage="evol_instruct", reason="no_information_gain", value="equal") for i in range(6)]
    deduped, dup_rej = evolved[:-3], [Rejection(record=r, stage="dedup", reason="near_duplicate", value=0.9,
                                                detail={"cluster_id": 1, "kept_id": "k", "jaccard": 0.9})
                                      for r in evolved[-3:]]
    langs = ["en"] * 24 + ["de", "fr"]
    quality = [r.model_copy(update={"meta": {**r.meta, "lang": langs[i % len(langs)], "lang_prob": 0.99}})
               for i, r in enumerate(deduped[:-2])]
    q_rej = [Rejection(record=r.model_copy(update={"meta": {**r.meta, "lang": "es"}}), stage="quality",
                       reason="wrong_language", value="es") for r in deduped[-2:]]
    chat = Record(messages=[Message(role="user", content="Say hi."), Message(role="assistant", content="Hi!")],
                  stage="format")
    plan = {
        "seeds": (seeds, [], len(seeds), None),
        "self_instruct": (generated, si_rej, len(generated) + len(si_rej), _usage(12000, 4000, 40)),
        "evol_instruct": (evolved, evo_rej, len(generated), _usage(8000, 6000, 37)),
        "dedup": (deduped, dup_rej, len(evolved), None),
        "quality": (quality, q_rej, len(deduped), _usage(3000, 200, 28)),
        "format": ([*quality, chat], [], len(quality), None),
    }
    for index, name in enumerate(plan):
        if name not in stages:
            manifest["stages"][name] = {"status": "disabled"}
            continue
        kept, rejected, n_in, usage = plan[name]
        rd.write_stage(index, name, kept, rejected, {"note": "test"})
        manifest["stages"][name] = _entry(kept, rejected, n_in, usage)
    rd.write_manifest(manifest)
    config = {"seed": 7, "generator": {"model": "test-model",
                                       "prices": {"test-model": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}}}
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def _images(html: str) -> dict[str, bytes]:
    found = {}
    for m in re.finditer(r'<img id="fig-([a-z_]+)" alt="[^"]+" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html):
        found[m.group(1)] = base64.b64decode(m.group(2))
    return found


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One report of the full synthetic run, shared by the tests that only read it."""
    root = build_run(tmp_path_factory.mktemp("report") / "run")
    path = write_report(root)
    assert path == root / "report.html"
    return root, path.read_text(encoding="utf-8")


def test_full_run_embeds_every_figure(full_report: tuple[Path, str]) -> None:
    root, html = full_report
    images = _images(html)
    assert set(images) == set(FIGURE_KEYS)
    for key in FIGURE_KEYS:
        assert images[key].startswith(PNG_MAGIC)
        png = root / "report" / f"{key}.png"
        assert png.read_bytes() == images[key]
    assert "no data" not in html.lower() and "failed to render" not in html
    # Self-contained: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
    # Cost at the configured price: (23000 * 0.15 + 10200 * 0.6) / 1e6.
    assert "$0.0096" in html
    assert "rule-based" in html and "rouge_l_seed" in html
    assert "near_duplicate" in html and "wrong_language" in html and "no_information_gain" in html


def test_record_text_is_escaped(full_report: tuple[Path, str]) -> None:
    _, html = full_report
    assert "&lt;script&gt;alert(" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html


def test_missing_stages_still_render(tmp_path: Path) -> None:
    root = build_run(tmp_path / "run", stages=("seeds", "self_instruct"))
    html = write_report(root).read_text(encoding="utf-8")
    images = _images(html)
    assert {"funnel", "rejections", "verb_noun", "lengths", "rouge_seed", "usage"} <= set(images)
    for key in ("language", "evol"):
        assert f'id="nodata-{key}"' in html
        assert not (root / "report" / f"{key}.png").exists()
    assert "Language not measured" in html
    assert "failed to render" not in html


def test_rouge_is_computed_when_meta_is_absent(tmp_path: Path) -> None:
    root = build_run(tmp_path / "run", stages=("seeds", "self_instruct"))
    rd = RunDirectory(root)
    stripped = [r.model_copy(update={"meta": {}}) for r in rd.read_kept(1, "self_instruct")]
    rd.write_stage(1, "self_instruct", stripped, [], {})
    html = write_report(root).read_text(encoding="utf-8")
    assert "fig-rouge_seed" in html and "computed now with rouge_score" in html


def test_only_manifest_and_rerun_replaces_stale_pngs(tmp_path: Path) -> None:
    root = build_run(tmp_path / "run")
    write_report(root)
    assert (root / "report" / "evol.png").exists()
    # The same directory with evol_instruct's files gone (as if disabled later): its PNG must go too.
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["stages"]["evol_instruct"] = {"status": "disabled"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    for f in (root / "stages" / "02_evol_instruct").iterdir():
        f.unlink()
    html = write_report(root).read_text(encoding="utf-8")
    assert 'id="nodata-evol"' in html and not (root / "report" / "evol.png").exists()


def test_empty_run_dir_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "manifest.json" in capsys.readouterr().err


def test_cli_prints_the_path(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = build_run(tmp_path / "run", stages=("seeds",))
    assert main(["report", str(root)]) == 0
    assert str(root / "report.html") in capsys.readouterr().out


@pytest.mark.parametrize("text, verb, noun", [
    ("Write a short poem about cats.", "write", "poem"),
    ("Please give me three examples of verbs.", "give", "example"),
    ("Can you summarize the articles below?", "summarize", "article"),
    ("Given a list of numbers, sort the numbers.", "sort", "number"),
    ("Tell me a joke.", "tell", "joke"),
    ("Explain how rainbows form.", "explain", None),
    ("What is the capital of France?", None, None),
])
def test_verb_noun_rules(text: str, verb: str | None, noun: str | None) -> None:
    got = verb_noun(text)
    assert (got.verb, got.noun) == (verb, noun)
