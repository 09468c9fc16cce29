"""Seed and eval files in every supported format, and one clear file:line error per bad row."""

from __future__ import annotations

import json

import datasets
import pandas as pd
import pytest

from pipeline.errors import InputDataError
from pipeline.readers import read_records

SELF_INSTRUCT_ROWS = [
    {"id": "seed_task_0", "name": "breakfast", "instruction": "Suggest a breakfast without eggs.",
     "instances": [{"input": "", "output": "Oatmeal with berries."}], "is_classification": False},
    {"id": "seed_task_1", "name": "sentiment", "instruction": "Classify the sentiment of the review.",
     "instances": [{"input": "Great phone.", "output": "Positive"}, {"input": "Broke in a day.", "output": "Negative"}],
     "is_classification": True},
]
ALPACA_ROWS = [
    {"instruction": "Give three tips for staying healthy.", "input": "", "output": "Eat well, sleep, move."},
    {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_self_instruct_seed_format_gives_one_record_per_instance(tmp_path):
    recs = read_records(_jsonl(tmp_path / "seed_tasks.jsonl", SELF_INSTRUCT_ROWS))
    assert [r.instruction for r in recs] == [SELF_INSTRUCT_ROWS[0]["instruction"]] + \
        [SELF_INSTRUCT_ROWS[1]["instruction"]] * 2
    assert [r.output for r in recs] == ["Oatmeal with berries.", "Positive", "Negative"]
    assert recs[1].meta["task_id"] == recs[2].meta["task_id"] == "seed_task_1"
    assert recs[1].meta["is_classification"] is True and recs[0].meta["is_classification"] is False
    assert recs[0].meta["source"].endswith("seed_tasks.jsonl:1")


def test_alpaca_json_array_and_jsonl_read_the_same(tmp_path):
    arr = tmp_path / "alpaca.json"
    arr.write_text(json.dumps(ALPACA_ROWS, indent=2))
    from_array = read_records(arr)
    from_lines = read_records(_jsonl(tmp_path / "alpaca.jsonl", ALPACA_ROWS))
    assert [r.id for r in from_array] == [r.id for r in from_lines]
    assert from_array[1].input == "Good morning" and from_array[1].output == "Bonjour"


def test_csv_parquet_and_datasets_directory(tmp_path):
    frame = pd.DataFrame(ALPACA_ROWS)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_parquet(tmp_path / "a.parquet")
    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "ds"))
    expected = [r.id for r in read_records(_jsonl(tmp_path / "a.jsonl", ALPACA_ROWS))]
    for source in ("a.csv", "a.parquet", "ds"):
        assert [r.id for r in read_records(tmp_path / source)] == expected, source


def test_chat_formats_are_read(tmp_path):
    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
            {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"},
                               {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]}]
    recs = read_records(_jsonl(tmp_path / "chat.jsonl", rows))
    assert recs[0].instruction == "hi" and recs[0].output == "hello" and recs[0].messages is None
    assert [m.role for m in recs[1].messages] == ["user", "assistant", "user", "assistant"]


@pytest.mark.parametrize("content, line, message", [
    ('{"instruction": "ok", "output": "x"}\n{"instruction": "broken",\n', 2, "malformed JSON"),
    ('{"instruction": "ok", "output": "x"}\n\n{"output": "no instruction"}\n', 3, "missing required field 'instruction'"),
    ('{"instruction": 42, "output": "x"}\n', 1, "field 'instruction'"),
    ('{"id": 1, "instruction": "t", "instances": [{"input": "", "output": 5}]}\n', 1, "instances.0.output"),
    ('{"id": 1, "instruction": "t", "instances": []}\n', 1, "at least one instance"),
    ('{"id": 1, "instruction": "t", "instances": [{"output": "x"}], "is_classification": "yes"}\n', 1,
     "is_classification"),
    ('["not", "an", "object"]\n', 1, "expected a JSON object"),
])
def test_bad_rows_name_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InputDataError) as exc:
        read_records(path)
    assert exc.value.line == line and exc.value.path == str(path)
    assert message in exc.value.one_line() and exc.value.one_line().startswith(f"{path}:{line}: ")


def test_empty_and_non_utf8_and_huge_line(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputDataError, match="no rows"):
        read_records(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"instruction": "ok", "output": "x"}\n{"instruction": "caf\xe9", "output": "x"}\n')
    with pytest.raises(InputDataError, match="not valid UTF-8") as exc:
        read_records(latin)
    assert exc.value.line == 2
    huge = tmp_path / "huge.jsonl"
    huge.write_text('{"instruction": "' + "a" * (9 * 2**20) + '"}\n')
    with pytest.raises(InputDataError, match="MB") as exc:
        read_records(huge)
    assert exc.value.line == 1


def test_bad_row_in_json_array_names_its_line(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"output": "c"}\n]\n')
    with pytest.raises(InputDataError) as exc:
        read_records(path)
    assert exc.value.line == 3


def test_csv_missing_column_names_the_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("prompt,output\nhello,world\n")
    with pytest.raises(InputDataError, match="instruction") as exc:
        read_records(path)
    assert exc.value.line == 2
