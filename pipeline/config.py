"""The pipeline configuration: one YAML file, validated, every field overridable from the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from pipeline.config_base import StrictModel
from pipeline.errors import ConfigError
from pipeline.generators.config import GeneratorConfig
from pipeline.stages.dedup import DedupConfig
from pipeline.stages.evol_instruct import EvolInstructConfig
from pipeline.stages.format import FormatConfig
from pipeline.stages.quality import QualityConfig
from pipeline.stages.seeds import SeedsConfig
from pipeline.stages.self_instruct import SelfInstructConfig
from pipeline.train.config import TrainConfig


class PipelineConfig(StrictModel):
    run_name: str = Field("run", pattern=r"^[A-Za-z0-9._-]+$")
    output_dir: str = "output"
    seed: int = 42
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    seeds: SeedsConfig = Field(default_factory=SeedsConfig)
    self_instruct: SelfInstructConfig = Field(default_factory=SelfInstructConfig)
    evol_instruct: EvolInstructConfig = Field(default_factory=EvolInstructConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    format: FormatConfig = Field(default_factory=FormatConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    report: bool = True
    # A folder laid out like prompts/ (e.g. prompts/evol/deepening.j2) to use instead of the bundled one.
    prompts_dir: str | None = None
    # Where the CPU stages (dedup, quality, format) run their batches: this machine (`local`) or Ray
    # (`ray`, see docs/scale-out.md). Results are identical by design, so this is not in any fingerprint.
    executor: Literal["local", "ray"] = "local"
    # None starts a local Ray instance; "auto" joins the cluster of this machine; "ray://host:10001".
    ray_address: str | None = None

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.run_name

    def stage_config(self, name: str) -> StrictModel:
        return getattr(self, name)

    def content_hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {dotted}: '{key}' is not a section")
        node = child
    node[keys[-1]] = value


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(item: str) -> tuple[str, Any]:
    """`a.b=value`; the value is read as YAML, so numbers, booleans and lists work (`x=[1,2]`)."""
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. --set generator.model=gpt-4o-mini")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key '{where}': check the spelling against `instruct-pipeline config show`"
    return f"{where}: {err['msg']}" + (f" (got {err['input']!r})" if "input" in err and
                                        not isinstance(err["input"], dict) else "")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> PipelineConfig:
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError("config file not found", path=p)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=p,
                              line=mark.line + 1 if mark else None) from None
        except UnicodeDecodeError:
            raise ConfigError("not valid UTF-8", path=p) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("the config must be a YAML mapping", path=p)
        data = loaded or {}
    for item in overrides or []:
        key, value = parse_override(item)
        _set_path(data, key, value)
    # Start from the full defaults: a section given in part (`bootstrap_sampling: {max_tokens: 96}`)
    # keeps the paper values of its other fields instead of falling back to the class defaults.
    data = _deep_merge(PipelineConfig().model_dump(mode="json"), data)
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc), path=path) from None


_SECRET_KEY = re.compile(r"(api_?key|token|secret|password)$", re.IGNORECASE)


def redact(data: Any, secrets: tuple[str, ...] = ()) -> Any:
    """Mask fields that look like secrets and any value equal to a known secret."""
    if isinstance(data, dict):
        return {k: ("***" if _SECRET_KEY.search(str(k)) and not str(k).endswith("_env") and v
                    else redact(v, secrets)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v, secrets) for v in data]
    if isinstance(data, str):
        for s in secrets:
            if s and s in data:
                data = data.replace(s, "***")
    return data


def known_secrets(config: PipelineConfig) -> tuple[str, ...]:
    value = os.environ.get(config.generator.api_key_env, "")
    return (value,) if len(value) >= 4 else ()


def config_yaml(config: PipelineConfig) -> str:
    return yaml.safe_dump(redact(config.model_dump(mode="json"), known_secrets(config)), sort_keys=False)
