"""Renders the Jinja2 prompt templates in prompts/ with StrictUndefined: a missing variable is an error."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from pipeline import PROMPTS_DIR
from pipeline.errors import TemplateError


@lru_cache(maxsize=8)
def _environment(root: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, prompts_dir: str | Path | None = None, **variables: Any) -> str:
    """Render `template` (a path under prompts/, e.g. "evol/deepening.j2")."""
    root = str(prompts_dir or PROMPTS_DIR)
    try:
        return _environment(root).get_template(template).render(**variables).strip() + "\n"
    except jinja2.TemplateNotFound:
        raise TemplateError(f"prompt template '{template}' not found under {root}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{exc.message}: the template needs a variable the stage did not give",
                            path=Path(root) / template) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", path=Path(root) / template,
                            line=exc.lineno) from None
