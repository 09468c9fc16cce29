"""User-facing errors: each message says what is wrong and how to fix it; the CLI prints one line."""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base class for errors shown to the user as one line (no traceback unless --debug)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class ConfigError(PipelineError):
    """The configuration file or an override is invalid."""


class InputDataError(PipelineError):
    """A seed or evaluation file cannot be read or a row in it is malformed."""


class GeneratorError(PipelineError):
    """The model backend cannot be used (no key, unreachable server, unknown model)."""


class TemplateError(PipelineError):
    """A prompt template is missing or fails to render."""


class RunDirectoryError(PipelineError):
    """The run directory cannot be written or holds something unexpected."""


class RunInterrupted(PipelineError):
    """The user pressed Ctrl-C; what arrived was saved."""

    exit_code = 130
