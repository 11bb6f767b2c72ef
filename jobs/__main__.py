"""Entry point: `python -m jobs ...` (see jobs/cli.py)."""

import os
import sys

from .cli import INTERRUPTED, main

code = main()
if code == INTERRUPTED:
    # Worker threads may still be inside a network call or a simulation: exit now, not after them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
