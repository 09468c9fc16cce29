"""Progress bars with rate and ETA (rich, on stderr); silent when stderr is not a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

_console = Console(stderr=True)


def progress_enabled() -> bool:
    forced = os.environ.get("INSTRUCT_PIPELINE_PROGRESS")
    if forced is not None:
        return forced not in ("0", "false", "no")
    return sys.stderr.isatty()


class Bar:
    """A handle on one progress task: `advance(n, **fields)` updates count and extra fields."""

    def __init__(self, progress: Progress | None, task_id: Any):
        self._progress = progress
        self._task_id = task_id

    def advance(self, n: int = 1, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task_id, advance=n, **fields)

    def set(self, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task_id, **fields)


class _Rate(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[override]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f}/s" if speed else "-/s", style="cyan")


@contextmanager
def progress_bar(total: int | None, desc: str, extra_fields: tuple[str, ...] = (),
                 status: str = "") -> Iterator[Bar]:
    """One bar with count, rate, elapsed and ETA; `status` is a format string over the extra fields."""
    if not progress_enabled():
        yield Bar(None, None)
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), _Rate(), TimeElapsedColumn(), TimeRemainingColumn()]
    if status:
        columns.append(TextColumn(status))
    elif "level" in extra_fields:
        columns.append(TextColumn("conc {task.fields[level]}"))
    with Progress(*columns, console=_console, transient=False) as progress:
        task_id = progress.add_task(desc, total=total, **{f: "" for f in extra_fields})
        yield Bar(progress, task_id)
