"""instruct-pipeline: turn seed tasks into a clean, deduplicated, training-ready SFT dataset."""

from pathlib import Path

__version__ = "0.1.0"

# The repository root holds prompts/ and seeds/ beside the package (editable installs and checkouts).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PROJECT_ROOT / "prompts"
SEEDS_DIR = PROJECT_ROOT / "seeds"
