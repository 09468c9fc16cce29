"""Finds a file's format and reads it into records: JSONL/JSON, CSV, Parquet, Hugging Face datasets."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.errors import InputDataError
from pipeline.readers.lines import iter_json_lines, read_json_array
from pipeline.readers.rows import detect_row_format, to_records
from pipeline.records import Record

FORMATS = ("auto", "self_instruct", "alpaca", "messages", "sharegpt", "csv", "parquet", "hf")


def detect_format(source: str) -> str:
    path = Path(source)
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "state.json").exists() or \
                (path / "dataset_dict.json").exists():
            return "hf"
        raise InputDataError("a directory that is not a saved Hugging Face dataset (no dataset_info.json)",
                             path=path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".json", ".jsonl"):
        return "json"
    if not path.exists() and "/" in source and not source.startswith((".", "/")):
        return "hf"  # a hub name such as "tatsu-lab/alpaca"
    raise InputDataError("unknown file type: use .jsonl, .json, .csv, .parquet or a datasets directory",
                         path=path)


def read_records(source: str | Path, fmt: str = "auto", *, stage: str = "seeds",
                 split: str = "train") -> list[Record]:
    """Read every row of `source` as records. Any bad row raises InputDataError naming file and line."""
    source = str(source)
    kind = detect_format(source) if fmt == "auto" else fmt
    if kind not in ("hf",) and not Path(source).exists():
        raise InputDataError("file not found", path=source)
    if kind in ("json", "self_instruct", "alpaca", "messages", "sharegpt"):
        records = _read_json(Path(source), None if kind == "json" else kind, stage)
    elif kind == "csv":
        records = _read_table(_csv_rows(Path(source)), source, stage, first_line=2)
    elif kind == "parquet":
        records = _read_table(_parquet_rows(Path(source)), source, stage, first_line=1)
    elif kind == "hf":
        records = _read_table(_hf_rows(source, split), source, stage, first_line=1)
    else:
        raise InputDataError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})", path=source)
    if not records:
        raise InputDataError("no rows: the file is empty", path=source)
    return records


def _read_json(path: Path, fmt: str | None, stage: str) -> list[Record]:
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    rows: Iterable[tuple[int, dict[str, Any]]]
    rows = read_json_array(path) if head.startswith(b"[") else iter_json_lines(path)
    records: list[Record] = []
    for line, obj in rows:
        row_fmt = fmt or detect_row_format(obj)
        if row_fmt is None:
            raise InputDataError("missing required field 'instruction' (or 'messages', 'conversations')",
                                 path=path, line=line)
        records.extend(to_records(row_fmt, obj, path=str(path), line=line, stage=stage))
    return records


def _read_table(rows: Iterable[dict[str, Any]], source: str, stage: str, first_line: int) -> list[Record]:
    records: list[Record] = []
    for n, row in enumerate(rows):
        clean = {k: _cell(v) for k, v in row.items() if _cell(v) is not None}
        row_fmt = detect_row_format(clean)
        if row_fmt is None:
            raise InputDataError("missing required field 'instruction'", path=source, line=first_line + n)
        records.extend(to_records(row_fmt, clean, path=source, line=first_line + n, stage=stage))
    return records


def _cell(value: Any) -> Any:
    """Table cells: NaN/None are absent; numpy scalars and arrays become plain Python values."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _csv_rows(path: Path) -> Iterable[dict[str, Any]]:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputDataError(f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8", path=path,
                             line=line) from None
    except pd.errors.ParserError as exc:
        raise InputDataError(f"malformed CSV: {exc}", path=path) from None
    except pd.errors.EmptyDataError:
        return []
    return frame.to_dict("records")


def _parquet_rows(path: Path) -> Iterable[dict[str, Any]]:
    import pandas as pd

    try:
        return pd.read_parquet(path).to_dict("records")
    except Exception as exc:  # noqa: BLE001 (pyarrow raises several types for a broken file)
        raise InputDataError(f"cannot read Parquet: {exc}", path=path) from None


def _hf_rows(source: str, split: str) -> Iterable[dict[str, Any]]:
    import datasets

    try:
        if Path(source).is_dir():
            ds = datasets.load_from_disk(source)
        else:
            ds = datasets.load_dataset(source, split=split)
    except Exception as exc:  # noqa: BLE001 (datasets raises many types; the user needs one line)
        raise InputDataError(f"cannot load the dataset: {exc}".splitlines()[0], path=source) from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise InputDataError(f"no split '{split}' (has {', '.join(ds)})", path=source)
        ds = ds[split]
    return iter(ds)
