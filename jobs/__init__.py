"""Submit Amazon Braket quantum tasks against the stacks' outputs (CLI: python -m jobs)."""
