"""The bad-input catalogue: each case is one clear line on stderr (file:line where there is one), a non-zero
exit, no traceback unless --debug, and no output that looks complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from local_stages import LocalSelfInstruct, install, write_seeds

from pipeline.cli import main
from pipeline.prompts import render
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage
from pipeline.stages.seeds import SeedsStage
from pipeline.testing.fake_server import FakeOpenAIServer

GOOD_ROW = '{"instruction": "Name a colour.", "output": "Blue."}\n'


class TemplateStage(Stage):
    """Renders self_instruct/new_task.j2 from the configured prompts_dir for each record."""

    name = "self_instruct"
    uses_generator = True

    def run(self, records: list[Record]) -> StageResult:
        for rec in records:
            render("self_instruct/new_task.j2", prompts_dir=self.context.prompts_dir, task=rec)
        return StageResult(kept=list(records))


def _seed_file(tmp_path: Path, content: bytes | str, name: str = "seeds.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _broken_prompts(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "prompts"
    (root / "self_instruct").mkdir(parents=True)
    (root / "self_instruct" / "new_task.j2").write_text(body)
    return root


def _huge_line(tmp_path: Path) -> Path:
    path = tmp_path / "huge.jsonl"
    with open(path, "w") as fh:
        fh.write('{"instruction": "')
        fh.writelines("a" * 1_000_000 for _ in range(50))
        fh.write('"}\n')
    return path


# (id, setup(tmp_path, server) -> extra CLI args, expected text in the one error line, failing stage or None)
CASES = [
    ("malformed_json", lambda t, s: _seeds(_seed_file(t, GOOD_ROW + '{"instruction": "x",\n')),
     "seeds.jsonl:2: malformed JSON", "seeds"),
    ("missing_instruction", lambda t, s: _seeds(_seed_file(t, GOOD_ROW * 2 + '{"output": "x"}\n')),
     "seeds.jsonl:3: missing required field 'instruction'", "seeds"),
    ("wrong_types", lambda t, s: _seeds(_seed_file(t, '{"instruction": 5, "output": "x"}\n')),
     "seeds.jsonl:1: field 'instruction': Input should be a valid string", "seeds"),
    ("empty_seed_file", lambda t, s: _seeds(_seed_file(t, "")), "seeds.jsonl: no rows: the file is empty", "seeds"),
    ("not_utf8", lambda t, s: _seeds(_seed_file(t, GOOD_ROW.encode() + b'{"instruction": "caf\xe9"}\n')),
     "seeds.jsonl:2: not valid UTF-8 (byte", "seeds"),
    ("50mb_line", lambda t, s: _seeds(_huge_line(t)), "huge.jsonl:1: line is over the 8 MB limit", "seeds"),
    ("seed_file_missing", lambda t, s: _seeds(t / "nope.jsonl"), "nope.jsonl: file not found", "seeds"),
    ("unknown_config_key", lambda t, s: ["--config", str(_seed_file(t, "generator:\n  modle: x\n", "c.yaml"))],
     "c.yaml: unknown key 'generator.modle': check the spelling", None),
    ("invalid_yaml", lambda t, s: ["--config", str(_seed_file(t, "seed: 1\ngenerator: [\n", "c.yaml"))],
     "c.yaml:3: invalid YAML", None),
    ("value_out_of_range", lambda t, s: ["--set", "generator.concurrency=0"],
     "generator.concurrency: Input should be greater than or equal to 1 (got 0)", None),
    ("missing_api_key", lambda t, s: ["--set", "generator.base_url=null"],
     "no API key: set the OPENAI_API_KEY environment variable", "self_instruct"),
    ("unreachable_base_url", lambda t, s: ["--set", "generator.base_url=http://127.0.0.1:9/v1"],
     "cannot reach http://127.0.0.1:9/v1", "self_instruct"),
    ("model_rejected_404", lambda t, s: ["--set", "generator.model=no-such-model"],
     "model 'no-such-model' not found at", "self_instruct"),
    ("wrong_api_key_401", lambda t, s: ["--set", "generator.api_key_env=RELIABILITY_WRONG_KEY"],
     "rejected the API key (401): set a valid key in the RELIABILITY_WRONG_KEY environment variable",
     "self_instruct"),
    ("output_dir_not_writable", lambda t, s: ["--output-dir", str(_seed_file(t, "a file", "plain") / "x")],
     "cannot write the run directory (Not a directory)", None),
    ("template_syntax_error", lambda t, s: ["--set", f"prompts_dir={_broken_prompts(t, 'Task: {{ task.instruction | nosuch }}')}"],
     "new_task.j2:1: template syntax error: No filter named 'nosuch'", "self_instruct"),
    ("template_missing_variable", lambda t, s: ["--set", f"prompts_dir={_broken_prompts(t, 'Task: {{ tsak }}')}"],
     "new_task.j2: 'tsak' is undefined: the template needs a variable", "self_instruct"),
]


def _seeds(path: Path) -> list[str]:
    return ["--set", f"seeds.paths=[{path}]"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, tmp_path, monkeypatch, capsys):
    name, setup, expected, failing = case
    install([SeedsStage, TemplateStage if name.startswith("template") else LocalSelfInstruct], monkeypatch)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("RELIABILITY_WRONG_KEY", "wrong-key-123")
    out = tmp_path / "out"
    with FakeOpenAIServer(models=["test-model"], api_key="wrong-key-123" if name != "wrong_api_key_401" else "x"
                          ) as srv:
        args = ["run", "--output-dir", str(out), "--set", f"generator.base_url={srv.base_url}", "--set",
                "generator.model=test-model", "--set", "generator.max_retries=1", "--set", "report=false"]
        (tmp_path / "good").mkdir()
        args += _seeds(write_seeds(tmp_path / "good"))  # a case's own --set seeds.paths comes later and wins
        if name != "missing_api_key":
            monkeypatch.setenv("OPENAI_API_KEY", "wrong-key-123")
        args += setup(tmp_path, srv)
        code = main(args)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1, err
    assert expected in err, err
    assert "Traceback" not in err
    _assert_nothing_looks_complete(out / "run", failing)


def _assert_nothing_looks_complete(root: Path, failing: str | None) -> None:
    """Only stages the manifest marks done have a kept file; the stage that failed is not done."""
    if not root.exists():
        return
    manifest = json.loads((root / "manifest.json").read_text()) if (root / "manifest.json").exists() else {}
    stages = manifest.get("stages", {})
    for folder in (root / "stages").glob("*") if (root / "stages").exists() else []:
        name = folder.name.split("_", 1)[1]
        assert ((folder / "kept.jsonl").exists()) == (stages.get(name, {}).get("status") == "done"), folder
    if failing is not None:
        assert stages.get(failing, {}).get("status") != "done"


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    from pipeline.errors import InputDataError

    install([SeedsStage], monkeypatch)
    bad = _seed_file(tmp_path, '{"instruction": 5}\n')
    with pytest.raises(InputDataError):
        main(["--debug", "run", "--output-dir", str(tmp_path / "o"), "--set", f"seeds.paths=[{bad}]"])
