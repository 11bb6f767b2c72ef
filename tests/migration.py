"""The README's migration of a team's CDKTF app to CDK Terrain ("Moving an existing CDKTF app that
uses these constructs to CDK Terrain", step 2), run as written: used on one app by
tests/test_framework.py and on every consumer app by tests/consumers/ under CDK Terrain."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_migration_command() -> str:
    """The README's step 2, as written there (the shell block with the sed command)."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Moving an existing CDKTF app"):]
    block = section[section.index("```sh\n") + len("```sh\n"):]
    return block[:block.index("```")].replace("\n   ", "\n")


def migrate(directory: Path) -> None:
    """Run the README's step 2 in ``directory`` (made a git checkout of its Python files first, as
    the command lists them with ``git ls-files``)."""
    subprocess.run(["git", "init", "-q"], cwd=directory, check=True)
    subprocess.run(["git", "add", "--", *sorted(p.name for p in directory.glob("*.py"))], cwd=directory, check=True)
    subprocess.run(["bash", "-euc", readme_migration_command()], cwd=directory, check=True)
