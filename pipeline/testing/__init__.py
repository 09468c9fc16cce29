"""Test doubles shared by the test suite and benchmarks: a deterministic OpenAI-compatible server."""
