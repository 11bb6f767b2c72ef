"""Entry point: `python -m jobs ...` (see jobs/cli.py)."""

import sys

from .cli import main

sys.exit(main())
