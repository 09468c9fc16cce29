"""The `Rule` tuple that the fake server's responders are built from (its own module to avoid import cycles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pipeline.testing.fake_server import FakeRequest, Reply


class Rule(NamedTuple):
    """A canned answer: the first rule whose `matches` accepts a request writes the reply."""

    name: str
    matches: Callable[[FakeRequest], bool]
    reply: Callable[[FakeRequest], str | Reply]
