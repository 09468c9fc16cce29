"""Readers: seed and evaluation files in every format users bring, turned into records."""

from pipeline.readers.load import detect_format, read_records

__all__ = ["detect_format", "read_records"]
