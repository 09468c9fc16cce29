"""The command line: both entry points, one-line errors with non-zero exits, config show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

COMMANDS = ("run", "config", "validate", "report", "train", "demo")


# The console script sits beside the interpreter of the environment the project is installed in.
SCRIPT = str(Path(sys.executable).parent / "instruct-pipeline")


@pytest.mark.parametrize("argv", [[SCRIPT], [sys.executable, "-m", "pipeline"]])
def test_help_lists_the_commands(argv):
    out = subprocess.run(argv + ["--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert command in out


def test_run_without_key_or_server_stops_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--output-dir", str(tmp_path / "out"), "--set", "evol_instruct.enabled=false"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and "OPENAI_API_KEY" in err[0] and "base_url" in err[0]


def test_unknown_config_key_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("generator:\n  modle: x\n")
    assert main(["config", "show", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown key 'generator.modle'" in err and "Traceback" not in err


def test_config_show_redacts(monkeypatch, capsys):
    monkeypatch.setenv("MY_KEY", "sk-abcdefghijklmnop")
    assert main(["config", "show", "--set", "generator.api_key_env=MY_KEY",
                 "--set", "generator.base_url=http://x/sk-abcdefghijklmnop"]) == 0
    out = capsys.readouterr().out
    assert "api_key_env: MY_KEY" in out and "sk-abcdefghijklmnop" not in out
