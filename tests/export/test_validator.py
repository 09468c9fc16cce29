"""The validator finds each planted defect on its line, and the CLI prints them and exits 1."""

from __future__ import annotations

import json

from pipeline.cli import main
from pipeline.export.validator import validate_file

GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


def _write(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _found(report):
    return sorted((p.line, p.code) for p in report.problems)


def test_openai_planted_defects_each_on_its_line(tmp_path):
    path = _write(tmp_path / "broken.jsonl", [
        GOOD,                                                                                    # 1
        {"messages": [{"role": "human", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]},  # 2 wrong role
        {"messages": [{"role": "user", "content": "Hi"}]},                                        # 3 no assistant
        {"messages": [{"role": "user", "content": ["Hi"]}, {"role": "assistant", "content": "A"}]},  # 4 non-string
        {"messages": GOOD["messages"], "id": "x1"},                                              # 5 unknown key
        '{"messages": [{"role": "user", "content": "Hi"}',                                      # 6 bad JSON
        {"messages": [{"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "A", "weight": 2}]},                      # 7 bad weight
        {"messages": [{"role": "user", "content": "Hi", "weight": 1},
                      {"role": "assistant", "content": "A"}]},                                   # 8 weight on user
        {"messages": [{"role": "user", "content": "Hi", "extra": 1},
                      {"role": "assistant", "content": "A", "weight": 0}]},                      # 9 message key
        {"prompt": "Hi"},                                                                        # 10 no messages
    ])
    report = validate_file(path)
    assert report.format == "openai"
    assert _found(report) == [
        (2, "unrecognized_role"), (3, "example_missing_assistant_message"), (4, "missing_content"),
        (5, "unknown_key"), (6, "bad_json"), (7, "invalid_weight"), (8, "invalid_weight"),
        (9, "message_unrecognized_key"), (10, "missing_messages_list"), (10, "unknown_key"),
    ]


def test_openai_tool_messages_and_tool_calls_are_allowed(tmp_path):
    row = {"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                               "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny.", "weight": 1},
    ], "tools": []}
    assert validate_file(_write(tmp_path / "tools.jsonl", [row])).problems == []


def test_token_limit_blank_lines_and_non_objects(tmp_path):
    long = {"messages": [{"role": "user", "content": "x" * 400}, {"role": "assistant", "content": "y" * 400}]}
    path = _write(tmp_path / "f.jsonl", [GOOD, "", long, "[1, 2]"])
    report = validate_file(path, max_tokens=100)
    assert _found(report) == [(2, "blank_line"), (3, "too_many_tokens"), (4, "data_type")]
    assert report.tokens[1] == 3 + 2 * (3 + 100)  # chars/4 per message plus the cookbook's framing


def test_sharegpt_defects(tmp_path):
    ok = {"id": "a", "conversations": [{"from": "system", "value": "Be nice."}, {"from": "human", "value": "Hi"},
                                       {"from": "gpt", "value": "Hello"}]}
    path = _write(tmp_path / "s.jsonl", [
        ok,
        {"conversations": [{"from": "gpt", "value": "Hello"}, {"from": "human", "value": "Hi"}]},   # order
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": " "}]},       # empty
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "bot", "value": "Yo"}]},      # speaker
        {"conversations": [{"from": "human", "value": "Hi"}]},                                     # no gpt
        {"conversations": [{"from": "human", "value": "Hi", "lang": "en"}, {"from": "gpt", "value": "A"}],
         "source": "x"},                                                                           # keys
        {"conversations": [{"from": "human"}, {"from": "gpt", "value": "A"}]},                      # missing
    ])
    report = validate_file(path)
    assert report.format == "sharegpt"
    assert _found(report) == [
        (2, "turns_not_alternating"), (3, "empty_value"), (4, "missing_assistant_turn"),
        (4, "turns_not_alternating"), (4, "unrecognized_speaker"), (5, "missing_assistant_turn"),
        (5, "turns_not_alternating"), (6, "turn_unrecognized_key"), (6, "unknown_key"), (7, "turn_missing_key"),
    ]


def test_alpaca_defects_in_jsonl_and_json_array(tmp_path):
    rows = [
        {"instruction": "Add.", "input": "1 2", "output": "3"},
        {"instruction": "Add.", "output": "3"},                                        # missing input
        {"instruction": "Add.", "input": "", "output": ""},                             # empty output
        {"instruction": "Add.", "input": "", "output": "3", "score": 5},                 # unknown key
        {"instruction": "Add.", "input": "", "output": 3},                              # not a string
        {"instruction": "Add.", "input": "", "output": "3", "history": [["only one"]]},  # bad history
    ]
    report = validate_file(_write(tmp_path / "a.jsonl", rows))
    expected = [(2, "missing_key"), (3, "empty_value"), (4, "unknown_key"), (5, "not_a_string"), (6, "bad_history")]
    assert report.format == "alpaca" and _found(report) == expected
    array = tmp_path / "a.json"
    array.write_text(json.dumps(rows, indent=2))
    starts = [i + 1 for i, line in enumerate(array.read_text().splitlines()) if line == "  {"]
    assert [line for line, _ in _found(validate_file(array))] == [starts[i - 1] for i, _ in expected]


def test_broken_json_array_reports_the_error_line(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[\n  {"instruction": "a", "input": "", "output": "b"},\n  {"instruction": }\n]\n')
    assert _found(validate_file(path)) == [(3, "bad_json")]


def test_cli_prints_problems_with_line_numbers_and_exits_1(tmp_path, capsys):
    path = _write(tmp_path / "broken.jsonl", [GOOD, {"messages": [{"role": "robot", "content": "x"}]}])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert f"{path}:2: unrecognized_role" in out.out
    assert f"{path}:2: example_missing_assistant_message" in out.out
    assert "problems" in out.err


def test_cli_good_file_exits_0_and_format_can_be_forced(tmp_path, capsys):
    path = _write(tmp_path / "good.jsonl", [GOOD, GOOD])
    assert main(["validate", str(path)]) == 0
    assert main(["validate", str(path), "--format", "sharegpt"]) == 1
    assert "missing_conversations" in capsys.readouterr().out


def test_cli_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.jsonl")]) == 2
    assert "file not found" in capsys.readouterr().err
