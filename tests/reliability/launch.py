"""Runs the CLI in a subprocess (crash and Ctrl-C tests): the real stages with RELIABILITY_REAL_STAGES=1,
else the local test stages."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from local_stages import install

from pipeline.cli import main

if __name__ == "__main__":
    if os.environ.get("RELIABILITY_REAL_STAGES") != "1":
        install()
    sys.exit(main())
