"""The `train:` config section (placeholder until the trainer issue lands)."""

from __future__ import annotations

from pipeline.config_base import StrictModel


class TrainConfig(StrictModel):
    pass
