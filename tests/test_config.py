"""Config: strict validation, CLI overrides, paper defaults, redaction."""

from __future__ import annotations

import pytest

from pipeline.config import config_yaml, load_config, redact
from pipeline.errors import ConfigError


def test_overrides_are_typed(tmp_path):
    cfg = load_config(None, ["generator.temperature=0.2", "generator.stop=[a, b]", "seed=7",
                             "generator.base_url=http://127.0.0.1:8000/v1"])
    assert cfg.generator.temperature == 0.2 and cfg.generator.stop == ["a", "b"] and cfg.seed == 7


def test_yaml_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run_name: demo\ngenerator:\n  model: m1\n  concurrency: 4\n")
    cfg = load_config(path, ["generator.model=m2"])
    assert cfg.run_name == "demo" and cfg.generator.model == "m2" and cfg.generator.concurrency == 4


@pytest.mark.parametrize("content, message", [
    ("generatr:\n  model: x\n", "unknown key 'generatr'"),
    ("generator:\n  temprature: 0.5\n", "unknown key 'generator.temprature'"),
    ("generator:\n  temperature: 9\n", "generator.temperature"),
    ("generator:\n  concurrency: 0\n", "generator.concurrency"),
    ("run_name: 'bad name/x'\n", "run_name"),
    ("generator: [1, 2\n", "invalid YAML"),
])
def test_invalid_configs_fail_with_one_clear_line(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert message in exc.value.one_line() and str(path) in exc.value.one_line()


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(None, ["generator.model"])


def test_redaction_masks_secret_fields_and_known_values(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-supersecret-123456")
    data = {"api_key": "abc", "api_key_env": "OPENAI_API_KEY", "nested": {"token": "t", "url": "x?k=sk-supersecret-123456"}}
    out = redact(data, ("sk-supersecret-123456",))
    assert out == {"api_key": "***", "api_key_env": "OPENAI_API_KEY", "nested": {"token": "***", "url": "x?k=***"}}
    text = config_yaml(load_config(None, ["generator.base_url=http://h/sk-supersecret-123456"]))
    assert "sk-supersecret-123456" not in text


def test_config_hash_changes_with_content():
    assert load_config(None).content_hash() == load_config(None).content_hash()
    assert load_config(None).content_hash() != load_config(None, ["seed=1"]).content_hash()


def test_a_partial_section_keeps_the_paper_defaults_of_its_other_fields(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("self_instruct:\n  bootstrap_sampling:\n    max_tokens: 96\n")
    cfg = load_config(path, ["quality.judge.sampling.max_tokens=16"])
    boot = cfg.self_instruct.bootstrap_sampling
    # Self-Instruct's bootstrap sampling: temperature 0.7, top_p 0.5, presence penalty 2.
    assert (boot.max_tokens, boot.temperature, boot.top_p, boot.presence_penalty) == (96, 0.7, 0.5, 2.0)
    assert cfg.quality.judge.sampling.temperature == 0.0 and cfg.quality.judge.sampling.max_tokens == 16
    assert cfg.generator.prices == {}
