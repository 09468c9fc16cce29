"""User-facing errors: each message says what is wrong and how to fix it; the CLI prints one line."""

from __future__ import annotations

from pathlib import Path

# Values (API keys) that must never be printed or written; the generator registers the key it reads.
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact_secrets` masks it wherever it would appear (errors, logs, files)."""
    if value and len(value) >= 4 and value != "EMPTY":
        _SECRETS.add(value)


def redact_secrets(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class PipelineError(Exception):
    """Base class for errors shown to the user as one line (no traceback unless --debug)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.message = redact_secrets(message)
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        # One line: a multi-line cause (a server's error body) would break the "one clear line" promise.
        return redact_secrets(" ".join(f"{where}{self.message}".split()))


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


class DataLossError(PipelineError):
    """A stage returned fewer records than it was given without a rejection reason for the rest."""

    exit_code = 3


class RunInterrupted(PipelineError):
    """The user pressed Ctrl-C; what arrived was saved."""

    exit_code = 130
