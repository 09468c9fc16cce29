"""Hugging Face `datasets` exports: the table schema, save_to_disk, Parquet, and an optional push to the Hub."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.export.messages import record_messages, source_stage
from pipeline.records import Record


def table_row(record: Record, system_prompt: str | None = None, text: str | None = None) -> dict[str, Any]:
    """One row for Parquet and `datasets`: the conversation (TRL's conversational form) plus the single-turn
    fields, the record id and its source stage; `text` when a chat template rendering was asked for."""
    row: dict[str, Any] = {
        "id": record.id,
        "messages": record_messages(record, system_prompt),
        "instruction": record.instruction,
        "input": record.input,
        "output": record.output,
        "source_stage": source_stage(record),
    }
    if text is not None:
        row["text"] = text
    return row


def _features(with_text: bool) -> Any:
    from datasets import Features, Value

    spec: dict[str, Any] = {
        "id": Value("string"),
        "messages": [{"role": Value("string"), "content": Value("string")}],
        "instruction": Value("string"), "input": Value("string"), "output": Value("string"),
        "source_stage": Value("string"),
    }
    if with_text:
        spec["text"] = Value("string")
    return Features(spec)


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """No `datasets` progress bars inside a stage (the runner shows its own), restored afterwards."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def build_dataset_dict(splits: dict[str, list[dict[str, Any]]]) -> Any:
    """A DatasetDict with one explicit schema, so an empty or a one-row split types the same as the others."""
    from datasets import Dataset, DatasetDict

    with_text = any("text" in r for rows in splits.values() for r in rows)
    features = _features(with_text)
    return DatasetDict({name: Dataset.from_list(rows, features=features) for name, rows in splits.items()})


def write_parquet(dataset: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with quiet_datasets():
        dataset.to_parquet(str(path))


def save_to_disk(dataset: Any, path: Path) -> None:
    with quiet_datasets():
        dataset.save_to_disk(str(path))


def offline_reason() -> str | None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var}={os.environ[var]}"
    return None


def push_to_hub(export_dir: Path, repo_id: str) -> str:
    """Upload the export folder (card, JSONL and Parquet files) as a dataset repo; a one-line outcome.
    Offline or any Hub failure skips the push: the local export stands on its own."""
    reason = offline_reason()
    if reason:
        return f"skipped: offline ({reason})"
    try:
        from huggingface_hub import HfApi

        api = HfApi()
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        # hf/ is save_to_disk's Arrow layout, which the Hub viewer does not read; the card's configs name
        # the JSONL and Parquet files instead.
        api.upload_folder(folder_path=str(export_dir), repo_id=repo_id, repo_type="dataset",
                          ignore_patterns=["hf/**", "exports.json"])
    except Exception as exc:  # noqa: BLE001 (network, auth, permissions: report, never fail the run)
        return f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return f"pushed: https://huggingface.co/datasets/{repo_id}"
